"""End to end with real training: kill and resume, retrain the best, HParams in
TensorBoard, chief and workers on localhost, every algorithm on digits.

Marked slow (CI runs them). Small models and few epochs keep them short.
"""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bigmodel_tf.tuning.compare import run_compare
from bigmodel_tf.tuning.settings import load_tune_config

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).parents[2] / "scripts" / "tune.py"
SMALL = ["model.name=mlp", "train.histogram_freq=0", "train.verbose=0", "evaluation.baselines=[]",
         "evaluation.interpret=false"]


def tune_command(*args):
    """``python scripts/tune.py ARGS`` as an argument list."""
    return [sys.executable, str(SCRIPT), *args]


def wait_for(condition, timeout=600.0):
    """Poll ``condition()`` every 0.2 s until it is true (fails after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def epochs_logged(run_dir: Path) -> int:
    """Data rows of a run's history.csv (0 if absent)."""
    path = run_dir / "history.csv"
    return max(len(path.read_text().splitlines()) - 1, 0) if path.exists() else 0


def results(search: Path) -> list[dict]:
    """The rows of a search's results.csv."""
    with (search / "results.csv").open() as handle:
        return list(csv.DictReader(handle))


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hparams_sessions(logdir: Path) -> list[dict]:
    """The HParams session groups TensorBoard serves for ``logdir``."""
    port = free_port()
    board = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host",
         "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    body = json.dumps({"experimentName": "", "startIndex": 0, "sliceSize": 100,
                       "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS"]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/data/plugin/hparams/"
                                     "session_groups", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    groups = json.loads(response.read())["sessionGroups"]
                if groups or time.monotonic() > deadline:
                    return groups
            except OSError:
                assert time.monotonic() < deadline, "TensorBoard did not answer"
            time.sleep(1)
    finally:
        board.terminate()
        board.wait(timeout=60)


def test_killed_search_resumes_then_retrains_the_best(tmp_path):
    search = tmp_path / "search"
    args = ["--run-dir", str(search), "--set", *SMALL, "tune.max_trials=3", "tune.max_epochs=3",
            "tune.space.data.batch_size.values=[32]", f"export.dir={tmp_path / 'models'}"]
    with (tmp_path / "first.log").open("w") as log:
        first = subprocess.Popen(tune_command(*args), cwd=tmp_path, stderr=log)
        # Killed once trial 1 has a verified snapshot (history.csv's row comes first).
        wait_for(lambda: (search / "trials/0/tune_trial.json").exists()
                 and any((search / "trials/1/checkpoints/backup").glob("epoch-*/state.json")))
        first.send_signal(signal.SIGKILL)
        first.wait()
    finished = (search / "trials/0/metrics.json").stat().st_mtime_ns

    again = subprocess.run(tune_command(*args, "--retrain-best"), cwd=tmp_path,
                           capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert [r["status"] for r in results(search)] == ["COMPLETED"] * 3
    assert (search / "trials/0/metrics.json").stat().st_mtime_ns == finished  # kept
    assert "trial 0 {" not in again.stderr  # not trained again
    assert "resumed from" in again.stderr  # trial 1 went on from its last finished epoch
    assert epochs_logged(search / "trials/1") <= 3 + 1  # at most the cut epoch again
    best = max(results(search), key=lambda r: float(r["objective"]))["trial"]
    assert (search / f"best-{best}" / "metrics.json").exists()
    assert "SavedModel for TF Serving" in again.stdout
    assert list((tmp_path / "models").glob("*/1/saved_model.pb"))

    sessions = hparams_sessions(search)
    assert sorted(s["name"] for s in sessions) == ["0", "1", "2"]
    by_trial = {row["trial"]: float(row["objective"]) for row in results(search)}
    for group in sessions:
        assert {"train.learning_rate", "model.width", "epochs"} <= set(group["hparams"])
        objective = next(m["value"] for m in group["metricValues"]
                         if m["name"]["tag"] == "objective")
        assert objective == pytest.approx(by_trial[group["name"]], abs=1e-6)


def test_one_chief_and_two_workers_complete_every_trial_exactly_once(tmp_path):
    env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(free_port())}
    search = tmp_path / "search"
    args = ["--run-dir", str(search), "--set", *SMALL, "data.name=iris", "tune.max_trials=4",
            "tune.max_epochs=1"]
    processes = {}
    for name in ("chief", "worker0", "worker1"):
        with (tmp_path / f"{name}.out").open("w") as out, \
                (tmp_path / f"{name}.err").open("w") as err:
            processes[name] = subprocess.Popen(
                tune_command(*args, "--role", name.rstrip("01")), cwd=tmp_path,
                env={**env, "KERASTUNER_TUNER_ID": name}, stdout=out, stderr=err)
    try:  # the chief ends last: when every trial has ended and every worker has left
        codes = {name: processes[name].wait(timeout=timeout)
                 for name, timeout in (("chief", 900), ("worker0", 60), ("worker1", 60))}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    logs = {name: (tmp_path / f"{name}.err").read_text() for name in processes}
    assert codes == {"chief": 0, "worker0": 0, "worker1": 0}, logs
    assert [r["status"] for r in results(search)] == ["COMPLETED"] * 4
    started = [line.split(": trial ")[1].split()[0] for name in ("worker0", "worker1")
               for line in logs[name].splitlines() if ": trial " in line and " {" in line]
    assert sorted(started) == ["0", "1", "2", "3"]  # each trial ran once, on one worker
    for trial in started:
        assert epochs_logged(search / "trials" / trial) == 1
    assert "4 trials" in (tmp_path / "chief.out").read_text()


def test_every_algorithm_finds_a_good_digits_model(tmp_path):
    """A light version of the README's figures: 2 trials of up to 3 epochs each."""
    cfg = load_tune_config(None, [
        *SMALL, "tune.max_trials=2", "tune.max_epochs=3", "tune.population_size=2",
        "tune.initial_points=1", "tune.hyperband_factor=2",
        "tune.space.train.learning_rate.min=0.003", "tune.space.train.learning_rate.max=0.03",
        "tune.space.model.width.min=64", "tune.space.model.depth.max=2",
        "tune.space.data.batch_size.values=[32]"])
    algorithms = ["random", "grid", "bayesian", "hyperband", "evolution"]
    summary = run_compare(cfg, algorithms, tmp_path / "compare")
    for row in summary:
        assert row["trials"] == 2 and row["best"] >= 0.9, row
    assert (tmp_path / "compare" / "compare.md").exists()
