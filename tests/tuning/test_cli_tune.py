"""`bigmodel tune` on the command line: the error contract before any trial runs."""

import subprocess
import sys
from pathlib import Path

import pytest

from bigmodel_tf.cli import main
from tests.test_cli import assert_error_contract, run_cli

SCRIPT = Path(__file__).parents[2] / "scripts" / "tune.py"


@pytest.mark.parametrize("args, fragment", [
    (["--set", "tune.space.model.widht.type=int"], "tune.space.model.widht: unknown config key"),
    (["--set", "tune.space.data.batch_size.values=[]"], "expected a non-empty list"),
    (["--set", "tune.space.model.width.min=500"], "expected min <= max"),
    (["--set", "tune.space.model.dropout.log=true"], "a log scale needs min > 0"),
    (["--compare", "random,annealing"], "--compare: expected distinct algorithms"),
    (["--lr-finder", "--compare", "random,grid"], "--lr-finder and --compare: cannot be"),
    (["--role", "chief"], "--role chief: set KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT"),
])
def test_bad_search_settings_exit_2_and_write_nothing(tmp_path, capsys, args, fragment):
    code = main(["tune", "--run-dir", str(tmp_path / "search"), *args])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err.strip().splitlines()[-1], err
    assert not (tmp_path / "search").exists()


def test_the_script_reports_a_bad_space_in_one_line(tmp_path):
    proc = run_cli("--set", "tune.space.model.depth.min=-1", script=SCRIPT, cwd=tmp_path)
    assert_error_contract(proc, "tune.space.model.depth.min: expected a value between 0 and 256")
    assert not list(tmp_path.iterdir())


def test_a_bad_space_fails_before_tensorflow_is_imported(tmp_path):
    code = ("import sys; from bigmodel_tf.cli import main; "
            "status = main(['tune', '--set', 'tune.space.model.depth.max=-1']); "
            "print(status, 'tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.stdout.split() == ["2", "False"], proc.stderr


def test_distributed_environment_needs_a_role(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    assert main(["tune", "--run-dir", str(tmp_path / "s")]) == 2
    assert "add --role chief or --role worker" in capsys.readouterr().err
