"""`bigmodel compress` publishes a new numbered TFLite version beside the TF Serving base
path (earlier ones are kept) and RUN/compression/ whole (bigmodel_tf/io.py): a kill between
the two leaves each a complete result, the next run cleans up, and a user's file or folder
in the way of the report is refused before any work and kept."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from bigmodel_tf.cli import main
from bigmodel_tf.compression import run as compression_run
from bigmodel_tf.manifest import verify_folder
from tests.compression.conftest import LEAN_TRAINING

pytestmark = pytest.mark.slow
CHEAP = ["compression.prune=false", "compression.variants=[float32]",
         "compression.latency_runs=2"]
KILL_AFTER_FIRST_PUBLISH = textwrap.dedent("""
    import os, signal, sys
    from bigmodel_tf import cli
    from bigmodel_tf.compression import run

    publish = run.publish_version

    def publish_then_die(tmp, base):
        publish(tmp, base)
        os.kill(os.getpid(), signal.SIGKILL)  # the TFLite version is published, the report not

    run.publish_version = publish_then_die
    sys.exit(cli.main(sys.argv[1:]))
""")


def compress_args(root) -> list[str]:
    """`bigmodel compress` of root/run into root/saved_models, cheaply."""
    return ["compress", "--run", str(root / "run"), "--set",
            f"export.dir={root / 'saved_models'}", *CHEAP]


@pytest.fixture(scope="module")
def compressed(tmp_path_factory):
    """A tiny iris MLP run, compressed once: root holds run/ and saved_models/."""
    root = tmp_path_factory.mktemp("outputs")
    assert main(["train", "--run-dir", str(root / "run"), "--set", *LEAN_TRAINING,
                 "data.name=iris", "model.name=mlp", "model.width=8", "train.epochs=2"]) == 0
    assert main(compress_args(root)) == 0
    return root


@pytest.fixture
def copy(compressed, tmp_path):
    """A private copy of the compressed run and its exports (links kept as links)."""
    return shutil.copytree(compressed, tmp_path / "copy", symlinks=True)


def outputs(root) -> tuple:
    """(folder of the TFLite versions, report folder) of a copy."""
    return root / "saved_models" / "iris_mlp-tflite", root / "run" / "compression"


def listing(root) -> dict:
    """Every path under root with its content, links as their targets."""
    return {p.relative_to(root).as_posix(): os.readlink(p) if p.is_symlink()
            else p.read_bytes() if p.is_file() else None for p in root.rglob("*")}


def last_error_line(capsys) -> str:
    """The CLI's one-line error, checked to come without a traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if compress starts loading data (the first piece of its work)."""
    def fail(cfg):
        raise AssertionError("compress loaded data before refusing")

    monkeypatch.setattr(compression_run, "load_splits", fail)


def test_a_second_compress_keeps_the_first_ones_tflite_files(copy):
    versions, _ = outputs(copy)
    (versions / "1" / "notes.txt").write_text("mine")
    first = listing(versions / "1")
    assert main(compress_args(copy)) == 0
    assert sorted(p.name for p in versions.iterdir()) == ["1", "2"]
    assert listing(versions / "1") == first  # untouched, the user's file included
    verify_folder(versions / "2")
    assert not (copy / "saved_models" / "iris_mlp").exists()  # nothing in a base path
    report = json.loads((outputs(copy)[1] / "compression.json").read_text())
    assert report["tflite_dir"] == str(versions / "2")


def test_a_file_added_to_the_report_folder_is_refused_by_name_and_kept(copy, capsys, no_work):
    folder = outputs(copy)[1]
    (folder / "notes.txt").write_text("mine")
    before = listing(copy)
    assert main(compress_args(copy)) == 2
    assert last_error_line(capsys) == (
        f"bigmodel: error: {folder / 'notes.txt'}: was not written by bigmodel compress; "
        f"move it out of {folder} (bigmodel compress replaces that folder as a whole)")
    assert listing(copy) == before


def test_a_users_folder_in_the_way_is_refused_and_kept(copy, capsys, no_work):
    folder = outputs(copy)[1]
    folder.unlink()  # the link compress published; a user's own folder takes its place
    folder.mkdir()
    (folder / "report.md").write_text("mine")
    before = listing(copy)
    assert main(compress_args(copy)) == 2
    assert last_error_line(capsys) == (
        f"bigmodel: error: {folder}: exists and was not made by bigmodel compress; choose a "
        "new or empty folder")
    assert listing(copy) == before


def test_a_kill_between_the_two_publishes_leaves_both_complete_and_the_rerun_cleans_up(
        copy, capsys):
    versions, report = outputs(copy)
    old_report = os.readlink(report)
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_PUBLISH,
                             *compress_args(copy)], capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert sorted(p.name for p in versions.iterdir()) == ["1", "2"]  # the new one, complete
    verify_folder(versions / "2")
    assert os.readlink(report) == old_report  # the old report, complete
    assert json.loads((report / "compression.json").read_text())["variants"]
    assert (report / "report.md").is_file() and (report / "float32.weights.h5").is_file()
    staged = [p.name for p in report.parent.iterdir() if p.name.startswith(".compression-")]
    assert len(staged) == 2  # the old version and the killed run's unpublished one

    assert main(compress_args(copy)) == 0
    assert sorted(p.name for p in versions.iterdir()) == ["1", "2", "3"]
    report_versions = [p.name for p in report.parent.iterdir()
                       if p.name.startswith(".compression-")]
    assert report_versions == [os.readlink(report)]
    verify_folder(versions / "3")
    assert (report / "report.md").is_file()
