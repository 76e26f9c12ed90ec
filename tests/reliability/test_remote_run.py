"""Remote storage (bigmodel_tf/remote.py), on TensorFlow's in-process ram:// filesystem.

Promises (README, Remote storage): a run whose data, run directory and export all live at
URLs trains, is preempted (SIGTERM) after its first epoch with its backup copied to the
URL, resumes in the same process from that URL (a fresh local copy: it trains epoch 2
only), exports a SavedModel version that loads from the URL and predicts what the run's
model.keras predicts, and `export --run URL` exports the finished run there again; an
ONNX file is published beside a remote version; a push sends only complete files and
removes what the run removed; a scheme without a filesystem and a remote folder that
cannot be written are one line and exit 2 before anything is trained, and a URL is never
turned into a local path.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import signal

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf import remote, remote_run
from bigmodel_tf.cli import main
from bigmodel_tf.config import load_config
from bigmodel_tf.data import convert_to_tfrecord
from bigmodel_tf.data.tfrecord_io import record_splits
from bigmodel_tf.io import publish_dir, staging_dir
from bigmodel_tf.loading import load_keras_model
from bigmodel_tf.manifest import verify_folder
from bigmodel_tf.run_lock import LOCK_FILE
from bigmodel_tf.training.preemption import StopOnPreemption
from bigmodel_tf.training.run_dir import resolve_run_dir, set_aside

EXPERIMENT = ["model.name=mlp", "model.width=16", "train.epochs=2", "train.verbose=0",
              "train.histogram_freq=0", "runtime.deterministic=true",
              "evaluation.baselines=[]", "evaluation.interpret=false"]
BACKUP = "checkpoints/backup"


@pytest.fixture
def urls(tmp_path, monkeypatch):
    """A ram:// folder of this test (ram:// is per process: the tests share it), working
    copies under tmp_path, and tmp_path as the working directory."""
    monkeypatch.setenv(remote_run.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    root = f"ram://{tmp_path.name}"
    yield root
    # ram:// lists a folder's sibling with a longer name as its child (models/m shows
    # "-onnx" of models/m-onnx), which its own rmtree then fails on: freed as it can be
    with contextlib.suppress(tf.errors.OpError):
        tf.io.gfile.rmtree(root)


def read_text(url: str) -> str:
    """A remote file's text."""
    with tf.io.gfile.GFile(url) as handle:
        return handle.read()


def last_error_line(capsys) -> str:
    """The CLI's one-line error, checked to come without a traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_a_run_at_urls_resumes_after_preemption_from_the_url_and_exports(
        urls, tmp_path, monkeypatch, capsys):
    records, run, models = f"{urls}/data/digits", f"{urls}/runs/digits-mlp", f"{urls}/models"
    convert_to_tfrecord(load_config(None, ["data.shards=2"]), records)  # written at the URL
    begun, stop_at = [], [1]  # SIGTERM as the second epoch begins (the first one is done)
    original = StopOnPreemption.on_epoch_begin

    def preempt(self, epoch, logs=None):
        begun.append(epoch)
        if epoch in stop_at:
            signal.raise_signal(signal.SIGTERM)  # the CLI's handler: stop, keep the backup
        original(self, epoch, logs)

    monkeypatch.setattr(StopOnPreemption, "on_epoch_begin", preempt)
    train = ["train", "--run-dir", run, "--set", "data.name=tfrecord", f"data.path={records}",
             f"export.dir={models}", "export.name=digits", *EXPERIMENT]

    assert main(train) == 75
    assert "preempted by SIGTERM" in capsys.readouterr().err
    files = remote.remote_files(run)
    assert f"{BACKUP}/epoch-000001/state.json" in files and "metrics.json" not in files
    assert LOCK_FILE not in files and not any(".tmp-" in f for f in files)
    assert len(list(csv.DictReader(io.StringIO(read_text(f"{run}/history.csv"))))) == 1

    shutil.rmtree(tmp_path / "cache")  # the resume has only what the URL holds
    begun.clear(), stop_at.clear()
    assert main(train) == 0
    assert begun == [1]  # resumed: epoch 2 trained, epoch 1 not again
    out = capsys.readouterr().out
    assert f"run {run} finished" in out and f"SavedModel for TF Serving: {models}/digits/1" in out
    history = list(csv.DictReader(io.StringIO(read_text(f"{run}/history.csv"))))
    assert [row["epoch"] for row in history] == ["0", "1"]
    metrics = json.loads(read_text(f"{run}/metrics.json"))
    assert metrics["epochs_run"] == 2 and metrics["export_path"] == f"{models}/digits/1"
    assert not [f for f in remote.remote_files(run) if f.startswith(BACKUP)]  # run finished
    assert not list((tmp_path / "cache").iterdir())  # the working copy is gone

    _, splits = record_splits(records)
    x, _ = splits["test"].head(64)
    with remote.local_folder(run) as copy:
        expected = load_keras_model(copy / "model.keras").predict(x, verbose=0)
    with remote.local_folder(f"{models}/digits/1") as version:
        verify_folder(version)  # every file as its manifest lists it
    signature = tf.saved_model.load(f"{models}/digits/1").signatures["serving_default"]
    (name,) = signature.structured_input_signature[1]
    served = signature(**{name: tf.constant(x)})["probabilities"].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)

    assert main(train) == 0  # the finished run at the URL: reported, not retrained
    assert begun == [1] and "was already finished" in capsys.readouterr().out
    assert main(["export", "--run", run]) == 0  # a finished run at a URL, exported again
    assert capsys.readouterr().out.strip() == f"SavedModel for TF Serving: {models}/digits/2"


def test_an_export_at_a_url_gets_its_onnx_file_beside_it(urls, tmp_path):
    pytest.importorskip("tf2onnx")
    import keras

    from bigmodel_tf.data.spec import DataSpec
    from bigmodel_tf.export.onnx import export_onnx
    from bigmodel_tf.export.saved_model import export_serving_model

    spec = DataSpec(kind="tabular", input_shape=[4], class_names=["a", "b", "c"])
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    first = export_serving_model(model, spec, f"{urls}/models", "m", x)
    second = export_serving_model(model, spec, f"{urls}/models", "m", x)
    assert (first, second) == (f"{urls}/models/m/1", f"{urls}/models/m/2")  # never reused
    target = export_onnx(second, x)
    assert target == f"{urls}/models/m-onnx/2"
    assert sorted(remote.remote_files(target)) == ["manifest.json", "model.onnx", "onnx.json"]
    assert json.loads(read_text(f"{target}/onnx.json"))["parity"]["within_tolerance"]
    assert not list(tmp_path.glob("ram*"))  # nothing written to a local look-alike path


def test_a_push_sends_complete_files_and_removes_what_the_run_removed(urls, tmp_path):
    local, url = tmp_path / "copy", f"{urls}/run"
    (local / "checkpoints" / "backup" / "epoch-000001").mkdir(parents=True)
    (local / "checkpoints" / "backup" / "epoch-000001" / "state.json").write_text("{}")
    (local / "history.csv").write_text("epoch,loss\n0,1.5\n1,1.")  # a row half written
    (local / LOCK_FILE).write_text("1\n")
    (local / ".tmp-1-model.keras").write_text("partial")
    (local / "cache").mkdir()
    (local / "cache" / "train.data").write_text("tf.data cache")
    copy = remote_run.WorkingCopy(url, local)
    copy.push()
    assert remote.remote_files(url) == ["checkpoints/backup/epoch-000001/state.json",
                                        "history.csv"]
    assert read_text(f"{url}/history.csv") == "epoch,loss\n0,1.5\n"
    (local / "history.csv").write_text("epoch,loss\n0,1.5\n1,1.2\n")
    shutil.rmtree(local / "checkpoints")
    copy.push()
    assert remote.remote_files(url) == ["history.csv"]
    assert read_text(f"{url}/history.csv").endswith("1,1.2\n")
    assert not tf.io.gfile.exists(f"{url}/checkpoints/backup/epoch-000001")


def test_a_published_folder_and_a_run_moved_aside_survive_the_way_through_a_url(
        tmp_path, monkeypatch):
    # file:// goes through tf.io.gfile like any URL (ram:// lists run.replaced-* inside run)
    monkeypatch.setenv(remote_run.CACHE_ENV, str(tmp_path / "cache"))
    url = f"file://{tmp_path}/bucket/run"

    def publish(local, text):  # as compress writes RUN/compression/ (a link to a version)
        with staging_dir(local / "compression", "compress") as staged:
            (staged / "report.md").write_text(text)
            publish_dir(staged, local / "compression")

    with remote_run.working_copy(url) as local:
        publish(local, "first")
        (local / "config.yaml").write_text("seed: 1\n")
    listed = ["compression/.bigmodel-owner.json", "compression/report.md", "config.yaml"]
    assert remote.remote_files(url) == listed  # the link's files, no hidden version folder
    with remote_run.working_copy(url) as local:
        assert (local / "compression").is_symlink()  # a link again: publish_dir may replace it
        publish(local, "second")
    assert read_text(f"{url}/compression/report.md") == "second"
    with remote_run.working_copy(url) as local:
        moved = set_aside(local)  # --force-new-run
    assert moved.startswith(f"{url}.replaced-") and remote.remote_files(moved) == listed
    assert remote.remote_files(url) == [] and not list((tmp_path / "cache").iterdir())


@pytest.mark.parametrize("where", ["--run-dir", "export.dir"])
def test_a_scheme_without_a_filesystem_is_one_line_before_training(where, urls, tmp_path,
                                                                   capsys):
    run, exports = ((["--run-dir", "s3://bucket/runs/x"], []) if where == "--run-dir"
                    else (["--run-dir", str(tmp_path / "run")], ["export.dir=s3://bucket/m"]))
    assert main(["train", *run, "--set", *EXPERIMENT, *exports]) == 2
    line = last_error_line(capsys)
    assert line.startswith(f"bigmodel: error: {where}{' ' if where == '--run-dir' else '='}s3://")
    assert "no filesystem for s3://" in line and "plug-in" in line
    assert not (tmp_path / "s3:").exists() and not (tmp_path / "run").exists()
    assert resolve_run_dir("x", "s3://bucket/runs/x/") == "s3://bucket/runs/x"


def test_a_remote_run_dir_that_cannot_be_written_is_one_line_before_training(
        urls, tmp_path, capsys):
    (tmp_path / "blocker").write_text("a file where the run's folder should be")
    url = f"file://{tmp_path}/blocker/run"
    assert main(["train", "--run-dir", url, "--set", *EXPERIMENT]) == 2
    line = last_error_line(capsys)
    assert line.startswith(f"bigmodel: error: --run-dir {url}: cannot be written (")
    assert "not a directory" in line.lower()
    assert not (tmp_path / "cache").exists()  # refused before a working copy was made


@pytest.mark.parametrize("command", ["evaluate", "export", "compress"])
def test_a_missing_remote_run_is_one_line(command, urls, capsys):
    assert main([command, "--run", f"{urls}/nothing"]) == 2
    assert last_error_line(capsys) == (f"bigmodel: error: --run {urls}/nothing: not found "
                                       "(expected a run directory made by `bigmodel train`)")
    assert not tf.io.gfile.exists(f"{urls}/nothing")  # the write probe left nothing
