"""Distribution and fault tolerance end to end: logical devices, workers, SIGKILL and resume.

Every run is a fresh `bigmodel` process (devices are fixed when TensorFlow starts; a
worker needs its own TF_CONFIG). The same small experiment (an MLP on digits, global batch
128) trains on one device, on 2 and 4 logical CPU devices (MirroredStrategy) and on 2
worker processes (MultiWorkerMirroredStrategy, `bigmodel train --workers 2`); each must
reach the accuracy of one device. The kill tests SIGKILL a single-process run and one
worker of a 2-worker run after 3 of 6 epochs, run the same command again, and check that
it resumes from the backup without redoing finished epochs and ends within tolerance of
the uninterrupted run.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.slow

EPOCHS = 6
GLOBAL_BATCH = 128
TOLERANCE = 0.03  # test accuracy, absolute
COMMON = ["model.name=mlp", f"train.epochs={EPOCHS}", "train.learning_rate=0.005",
          "train.early_stopping_patience=0", "train.histogram_freq=0", "train.verbose=2",
          "export.enabled=false", "evaluation.baselines=[]", "evaluation.interpret=false"]


def command(run_dir: Path, replicas: int = 1, *extra: str) -> list[str]:
    """`bigmodel train` of the common experiment at the global batch."""
    return [sys.executable, "-m", "bigmodel_tf.cli", "train", *extra, "--run-dir",
            str(run_dir), "--set", *COMMON, f"data.batch_size={GLOBAL_BATCH // replicas}"]


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run to the end; fail with the output's tail when it does not succeed."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def metrics(run_dir: Path) -> dict:
    """A finished run's metrics.json."""
    return json.loads((run_dir / "metrics.json").read_text())


def epochs_logged(run_dir: Path) -> list[int]:
    """The epoch numbers of history.csv rows (a resumed epoch appears twice)."""
    with (run_dir / "history.csv").open() as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("distributed")


@pytest.fixture(scope="module")
def one_device(workdir) -> dict:
    """The uninterrupted one-device run every other run is compared with."""
    run(command(workdir / "one"), workdir)
    return metrics(workdir / "one")


@pytest.fixture(scope="module")
def two_workers(workdir) -> Path:
    """An uninterrupted run of 2 local worker processes."""
    run(command(workdir / "two-workers", 2, "--workers", "2"), workdir)
    return workdir / "two-workers"


@pytest.mark.parametrize("devices", [2, 4])
def test_logical_devices_reach_the_accuracy_of_one_device(workdir, one_device, devices):
    run_dir = workdir / f"mirrored-{devices}"
    run(command(run_dir, devices) + [f"runtime.logical_cpus={devices}"], workdir)
    result = metrics(run_dir)
    assert (result["strategy"], result["replicas"]) == ("MirroredStrategy", devices)
    assert abs(result["test"]["accuracy"] - one_device["test"]["accuracy"]) <= TOLERANCE


def test_two_workers_reach_the_accuracy_of_one_device(one_device, two_workers):
    result = metrics(two_workers)
    # CollectiveAllReduceStrategy: the class behind tf.distribute.MultiWorkerMirroredStrategy
    assert (result["strategy"], result["replicas"]) == ("CollectiveAllReduceStrategy", 2)
    assert abs(result["test"]["accuracy"] - one_device["test"]["accuracy"]) <= TOLERANCE
    assert epochs_logged(two_workers) == list(range(EPOCHS))
    # The workers trained one model: the non-chief's copy is the chief's, weight for weight.
    chief = keras.models.load_model(two_workers / "model.keras")
    worker = keras.models.load_model(two_workers / "workers" / "worker-1" / "model.keras")
    for a, b in zip(chief.get_weights(), worker.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def start_and_kill(cmd: list[str], cwd: Path, run_dir: Path, victim) -> None:
    """Start ``cmd``, SIGKILL ``victim(process)``'s pid once 3 epochs are logged, wait."""
    log = (cwd / f"{run_dir.name}-killed.log").open("w")
    process = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    history, deadline = run_dir / "history.csv", time.time() + 600
    while time.time() < deadline and process.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) >= 4:  # header + 3
            break
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(victim(process), signal.SIGKILL)
    process.wait(timeout=120)
    log.close()
    assert not (run_dir / "metrics.json").exists()


def worker_pid(launcher: subprocess.Popen) -> int:
    """The pid of worker 1, a child of the launcher process (Linux /proc)."""
    children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()
    assert len(children) == 2, children
    return int(children[1])  # started second


def assert_resumed(proc, run_dir: Path, reference: dict) -> None:
    """Finished epochs not redone, every epoch done, accuracy of the uninterrupted run."""
    assert "Epoch 1/" not in proc.stdout, proc.stdout[-2000:]
    assert f"Epoch {EPOCHS}/{EPOCHS}" in proc.stdout
    assert sorted(set(epochs_logged(run_dir))) == list(range(EPOCHS))
    result = metrics(run_dir)
    assert result["epochs_run"] == EPOCHS
    assert abs(result["test"]["accuracy"] - reference["test"]["accuracy"]) <= TOLERANCE


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_killed_worker_resumes_from_the_chiefs_backup(workdir, two_workers):
    run_dir = workdir / "two-workers-killed"
    cmd = command(run_dir, 2, "--workers", "2")
    start_and_kill(cmd, workdir, run_dir, worker_pid)
    killed_log = (workdir / f"{run_dir.name}-killed.log").read_text()
    assert "worker 1 exited with signal 9 (SIGKILL); stopped the other workers" in killed_log
    assert_resumed(run(cmd, workdir), run_dir, metrics(two_workers))
