"""The CLI's contract: subcommands, the one-line error with exit status 2, thin scripts."""

import os
import subprocess
import sys
from pathlib import Path

from bigmodel_tf.cli import build_parser

ROOT = Path(__file__).parents[1]


def run_cli(*args, cwd=None, script=None):
    """Run ``bigmodel ARGS`` (or a script) in a fresh process; return the CompletedProcess."""
    command = [sys.executable, str(script)] if script else [
        sys.executable, "-m", "bigmodel_tf.cli"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=600,
    )


def assert_error_contract(proc, *fragments):
    """Exit 2, no traceback, and the last stderr line is the one naming the problem."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("bigmodel: error: ")
    for fragment in fragments:
        assert fragment in last


def test_parser_has_every_design_command():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"train", "evaluate", "tune", "compress", "export", "benchmark", "data"} <= set(
        commands
    )


def test_bad_config_key_is_one_line_exit_2(tmp_path):
    proc = run_cli("train", "--set", "train.epochz=3", "--run-dir", str(tmp_path / "r"),
                   cwd=tmp_path)
    assert_error_contract(proc, "train.epochz: unknown key")
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_script_is_the_same_as_bigmodel_train(tmp_path):
    proc = run_cli("--set", "model.name=gpt", cwd=tmp_path, script=ROOT / "scripts/train.py")
    assert_error_contract(proc, "model.name: expected one of")


def test_missing_config_file(tmp_path):
    proc = run_cli("train", "--config", "nope.yaml", cwd=tmp_path)
    assert_error_contract(proc, "--config nope.yaml: file not found")


def test_export_needs_a_run_directory(tmp_path):
    proc = run_cli("export", "--run", str(tmp_path / "missing"), cwd=tmp_path)
    assert_error_contract(proc, "missing: not found (expected a run directory")


def test_an_error_after_tensorflow_is_imported_has_no_startup_noise(tmp_path):
    """TensorFlow's C++ import notices (absl, cudart, oneDNN) never reach the terminal."""
    (tmp_path / "t.csv").write_text("a,b,target\n1,2,x\n3,4,y\n5,6,x\n", encoding="utf-8")
    proc = run_cli("train", "--set", "data.name=csv", "data.path=t.csv", "data.label=nope",
                   "model.name=mlp", cwd=tmp_path)
    assert_error_contract(proc, "data.label='nope': no such column")
    assert all(line.startswith("bigmodel: ") for line in proc.stderr.splitlines()), proc.stderr


def test_the_startup_filter_keeps_every_other_line(capfd):
    from bigmodel_tf.tf_startup import filtered_stderr

    with filtered_stderr():
        os.write(2, b"W0000 cudart_stub.cc:31] Could not find cuda drivers\nkept line\n")
    assert capfd.readouterr().err == "kept line\n"
