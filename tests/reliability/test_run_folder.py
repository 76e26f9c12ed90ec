"""A finished run folder read by evaluate, export and compress: damaged, foreign or edited
files are refused in one line (exit 2) and nothing is written; a run directory is locked
while a process writes it; a failed start writes nothing; changed data is noticed."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import keras
import pytest

from bigmodel_tf.cli import main
from bigmodel_tf.config import config_hash, load_config, save_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.manifest import write_manifest
from bigmodel_tf.run_lock import LOCK_FILE, lock_run_dir
from tests.evaluation.wine_csv import TRAIN_ROWS, write_wine_csv

pytestmark = pytest.mark.slow

IRIS = ["data.name=iris", "model.name=mlp", "train.epochs=2", "evaluation.baselines=[]",
        "evaluation.interpret=false", "export.enabled=false", "train.verbose=0",
        "train.histogram_freq=0"]
RUN_FILES = ("config.yaml", "data_spec.json", "metrics.json", "manifest.json", "model.keras",
             "history.csv")
DAMAGES = ("truncate", "garbage", "foreign", "delete")


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    """One small finished run (iris, MLP, 2 epochs) that the tests copy before damaging."""
    run = tmp_path_factory.mktemp("iris") / "run"
    assert main(["train", "--run-dir", str(run), "--set", *IRIS]) == 0
    return run


@pytest.fixture(scope="module")
def foreign_files(tmp_path_factory, iris_run):
    """Valid content of each run file that belongs to something else."""
    where = tmp_path_factory.mktemp("foreign")
    wine = load_config(None, ["data.name=wine", "model.name=mlp"])
    save_config(wine, where / "config.yaml")
    load_splits(wine).spec.save(where / "data_spec.json")
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    other.save(where / "model.keras")
    write_manifest(where, config_hash(wine), ["model.keras"])
    (where / "history.csv").write_text("epoch,loss\n0,1.5\n1,0.9\n")
    return {
        **{name: (where / name).read_bytes() for name in
           ("config.yaml", "data_spec.json", "model.keras", "manifest.json", "history.csv")},
        "metrics.json": (iris_run / "manifest.json").read_bytes(),  # JSON, but not metrics
    }


def damage(path, how: str, foreign: bytes) -> None:
    """Truncate, overwrite with garbage or foreign content, or delete one file."""
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        path.write_bytes(bytes(range(256)) * 4)
    else:
        path.write_bytes(foreign)


def snapshot(folder) -> dict:
    """sha256 of every file under ``folder`` but the lock file (which holds the last pid)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK_FILE}


def one_error_line(capsys) -> str:
    """The only line on stderr, the CLI's one-line error."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bigmodel: error: "), err
    return lines[0]


def commands(run, exports) -> dict:
    """evaluate, export and compress of ``run``, writing exports under ``exports``."""
    out = ["--set", f"export.dir={exports}"]
    return {"evaluate": ["evaluate", "--run", str(run)],
            "export": ["export", "--run", str(run), *out],
            "compress": ["compress", "--run", str(run), *out]}


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("name", RUN_FILES)
def test_a_damaged_run_file_is_refused_in_one_line(iris_run, foreign_files, tmp_path, capsys,
                                                   name, how):
    run = shutil.copytree(iris_run, tmp_path / "run")
    damage(run / name, how, foreign_files[name])
    before = snapshot(run)
    exports = tmp_path / "saved_models"
    capsys.readouterr()
    for command, args in commands(run, exports).items():
        assert main(args) == 2, command
        line = one_error_line(capsys)
        assert name in line, (command, line)
        assert "Traceback" not in line
        assert snapshot(run) == before, command
        assert not exports.exists() and not (run / "compression").exists(), command


def test_an_edited_seed_is_refused(iris_run, tmp_path, capsys):
    run = shutil.copytree(iris_run, tmp_path / "run")
    config = run / "config.yaml"
    edited = re.sub(r"^seed: 42$", "seed: 7", config.read_text(), flags=re.MULTILINE)
    assert edited != config.read_text()
    config.write_text(edited)
    metrics = (run / "metrics.json").read_bytes()
    capsys.readouterr()
    for command, args in commands(run, tmp_path / "saved_models").items():
        assert main(args) == 2, command
        line = one_error_line(capsys)
        assert "config.yaml: changed since the run finished" in line
    assert (run / "metrics.json").read_bytes() == metrics
    assert not (tmp_path / "saved_models").exists()


def test_the_untouched_run_still_evaluates_and_exports(iris_run, tmp_path, capsys):
    run = shutil.copytree(iris_run, tmp_path / "run")
    assert main(["evaluate", "--run", str(run)]) == 0
    assert main(commands(run, tmp_path / "saved_models")["export"]) == 0
    assert (tmp_path / "saved_models" / "iris_mlp" / "1" / "saved_model.pb").exists()


def test_a_run_in_use_is_refused_at_once(iris_run, tmp_path, capsys):
    run = shutil.copytree(iris_run, tmp_path / "run")
    before = snapshot(run)
    with lock_run_dir(run):
        assert main(["evaluate", "--run", str(run)]) == 2
        line = one_error_line(capsys)
        assert f"{run}: in use by another bigmodel process (pid {os.getpid()})" in line
        assert main(["train", "--run-dir", str(run), "--force-new-run", "--set", *IRIS]) == 2
        assert "in use by another bigmodel process" in capsys.readouterr().err
    assert snapshot(run) == before and not list(tmp_path.glob("run.replaced-*"))
    new = tmp_path / "new"
    with lock_run_dir(new):  # the launcher of --workers takes the lock before any worker
        assert main(["train", "--workers", "2", "--run-dir", str(new), "--set", *IRIS]) == 2
        assert "in use by another bigmodel process" in one_error_line(capsys)
        assert [p.name for p in new.iterdir()] == [LOCK_FILE]


def train_process(cwd, run, *overrides, **popen):
    """``bigmodel train`` of the iris run in a new process."""
    return subprocess.Popen(
        [sys.executable, "-m", "bigmodel_tf.cli", "train", "--run-dir", run,
         "--set", *IRIS, *overrides], cwd=cwd, text=True, **popen)


def test_two_trainings_of_one_run_directory(tmp_path, capsys):
    first = train_process(tmp_path, "run", "train.epochs=3", stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    lock = tmp_path / "run" / LOCK_FILE
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGSTOP)  # it holds the lock and cannot finish meanwhile
    try:
        second = train_process(tmp_path, "run", "train.epochs=3", stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        _, err = second.communicate(timeout=600)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, err
    assert err.strip().splitlines()[-1] == (
        f"bigmodel: error: run: in use by another bigmodel process (pid {first.pid}); wait "
        "for it or use another --run-dir")
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-3000:]
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 4 and history[0].startswith("epoch")  # one header, 3 epochs
    assert main(["train", "--run-dir", str(tmp_path / "run"), "--set", *IRIS,
                 "train.epochs=3"]) == 0
    assert "was already finished" in capsys.readouterr().out


def test_a_failed_start_writes_nothing_and_changed_data_is_noticed(tmp_path, capsys):
    data = write_wine_csv(tmp_path / "wine.csv", rows=TRAIN_ROWS)
    run = tmp_path / "run"
    csv_run = ["train", "--run-dir", str(run), "--set", *IRIS, "data.name=csv",
               f"data.path={data}"]
    assert main([*csv_run, "data.label=colour"]) == 2
    assert "colour" in one_error_line(capsys)
    assert not run.exists()
    assert main([*csv_run, "data.label=variety"]) == 0
    os.utime(data, ns=(1, 1))  # touched only: the content decides
    capsys.readouterr()
    assert main([*csv_run, "data.label=variety"]) == 0
    assert "was already finished" in capsys.readouterr().out
    metrics = (run / "metrics.json").read_bytes()
    with data.open("a") as handle:
        handle.write(data.read_text().splitlines()[1] + "\n")  # one more row
    capsys.readouterr()
    for args in ([*csv_run, "data.label=variety"], ["evaluate", "--run", str(run)],
                 commands(run, tmp_path / "saved_models")["compress"]):
        assert main(args) == 2
        line = one_error_line(capsys)
        assert f"{run}: its data changed since the run was trained (data.path={data}" in line
        assert "--force-new-run" in line
    assert (run / "metrics.json").read_bytes() == metrics
    assert main(["evaluate", "--run", str(run), "--out", str(tmp_path / "new")]) == 0
    assert json.loads((tmp_path / "new" / "metrics.json").read_text())["evaluated_run"] == str(run)


def test_a_data_spec_that_does_not_fit_the_model_is_refused(iris_run, foreign_files, tmp_path,
                                                            capsys):
    run = shutil.copytree(iris_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"] = {"model.keras": manifest["files"]["model.keras"]}  # an older run's
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "data_spec.json").write_bytes(foreign_files["data_spec.json"])  # wine: 13 features
    capsys.readouterr()
    for command, args in commands(run, tmp_path / "saved_models").items():
        assert main(args) == 2, command
        assert one_error_line(capsys).endswith(
            "data_spec.json: describes input shape [13] and 3 classes, but model.keras takes "
            "[4] and predicts 3 classes (expected the data spec the model was trained with)")
