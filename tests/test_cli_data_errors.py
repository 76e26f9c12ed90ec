"""Bad data gets the error contract: one line naming the problem, exit 2, no traceback.

Each case calls the CLI's entry (``bigmodel_tf.cli.main``) in this process, from the test's
folder, and checks what a shell would see; a fresh process per case would spend most of
its time importing TensorFlow. tests/test_cli.py checks the contract on real processes
(exit status, TensorFlow's startup notices kept off stderr).
"""

import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_digits

from bigmodel_tf.cli import main
from tests.test_cli import assert_error_contract


@pytest.fixture
def run_cli(capsys, monkeypatch, tmp_path):
    """Factory: ``bigmodel ARGS`` run in this process from tmp_path, as the CompletedProcess
    that tests/test_cli.py's run_cli returns (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()  # only what this command writes
        status = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, out, err)

    return run


@pytest.fixture
def iris_like_csv(tmp_path):
    """Write a small valid CSV with a string label; tests then break it."""

    def write(rows=None, header="a,b,label"):
        lines = rows or [f"{i % 3 + 0.5},{i * 0.1:.1f},{'xyz'[i % 3]}" for i in range(60)]
        path = tmp_path / "data.csv"
        path.write_text("\n".join([header, *lines]) + "\n")
        return path

    return write


@pytest.fixture
def train_on(run_cli, tmp_path):
    """Factory: a one-epoch ``bigmodel train`` into tmp_path/run with these overrides."""

    def train(*overrides: str) -> subprocess.CompletedProcess:
        return run_cli("train", "--run-dir", str(tmp_path / "run"), "--set", "train.epochs=1",
                       "export.enabled=false", *overrides)

    return train


def test_missing_csv_file(tmp_path, train_on):
    proc = train_on("data.name=csv", "data.path=nope.csv", "data.label=y")
    assert_error_contract(proc, "nope.csv")
    assert not (tmp_path / "run" / "model.keras").exists()


def test_missing_label_column(train_on, iris_like_csv):
    path = iris_like_csv()
    proc = train_on("data.name=csv", f"data.path={path}", "data.label=species")
    assert_error_contract(proc, "species")


def test_nan_in_a_feature(train_on, iris_like_csv):
    rows = [f"{i % 3 + 0.5},{i * 0.1:.1f},{'xyz'[i % 3]}" for i in range(60)]
    rows[6] = "nan,0.6,x"
    path = iris_like_csv(rows)
    proc = train_on("data.name=csv", f"data.path={path}", "data.label=label")
    assert_error_contract(proc, f"data.path={path}: column 'a', line 8: 'nan' is NaN")


def test_unreadable_image(tmp_path, train_on):
    from PIL import Image

    digits = load_digits()
    for i in range(40):
        folder = tmp_path / "images" / str(digits.target[i] % 2)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((digits.images[i] * 15).astype(np.uint8)).save(folder / f"{i}.png")
    (tmp_path / "images" / "0" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    proc = train_on("data.name=image_dir", f"data.path={tmp_path / 'images'}")
    assert_error_contract(proc, "broken.png")


@pytest.mark.parametrize(("cell", "reason"), [
    ("1e308", "'1e308' is beyond ±1.8e19"),
    ("3e38", "'3e38' is beyond ±1.8e19"),
    ("abc", "'abc' is text in a numeric column (59 of 60 non-empty cells are numbers"),
])
def test_a_bad_cell_is_named_by_column_and_line(tmp_path, run_cli, train_on, iris_like_csv,
                                                cell, reason):
    rows = [f"{i % 3 + 0.5},{i * 0.1:.1f},{'xyz'[i % 3]}" for i in range(60)]
    rows[16] = f"1.5,{cell},y"  # file line 18
    path = iris_like_csv(rows)
    source = ["data.name=csv", f"data.path={path}", "data.label=label"]
    assert_error_contract(train_on(*source), f"column 'b', line 18: {reason}")
    assert not (tmp_path / "run" / "model.keras").exists()
    proc = run_cli("data", "validate", "--set", *source)
    assert proc.returncode == 2 and "column 'b'" in proc.stdout
    assert f"line 18: {reason.split(' (')[0]}" in proc.stdout
