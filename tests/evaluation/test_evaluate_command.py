"""`bigmodel evaluate`: in place, on new data, and the error contract (exit 2, one line).

The first two tests run `bigmodel evaluate` processes (the contract as a shell sees it: exit
code, stderr without a traceback); the data errors are the same CLI entry called in this
process (each process would spend most of its time importing TensorFlow)."""

import json
import subprocess
import sys
import time

import pytest

from bigmodel_tf.cli import main
from tests.evaluation.wine_csv import NEW_ROWS, write_wine_csv

pytestmark = pytest.mark.slow


def evaluate(*args, cwd):
    """Run ``bigmodel evaluate ARGS`` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "bigmodel_tf.cli", "evaluate", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def assert_error_contract(proc, *fragments):
    """Exit 2, no traceback, one last line on stderr naming the problem."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert_one_error_line(proc.stderr, *fragments)


def assert_one_error_line(stderr: str, *fragments):
    """No traceback on ``stderr``; its last line is the CLI's error naming ``fragments``."""
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("bigmodel: error: ")
    for fragment in fragments:
        assert fragment in last, last


def assert_evaluate_fails(capsys, *args: str, fragments: tuple = ()):
    """``bigmodel evaluate ARGS`` in this process: exit 2 and one line naming ``fragments``."""
    assert main(["evaluate", *args]) == 2
    assert_one_error_line(capsys.readouterr().err, *fragments)


def test_missing_or_unreadable_run_directories_fail_fast(tmp_path):
    started = time.perf_counter()
    assert_error_contract(evaluate("--run", "nowhere", cwd=tmp_path),
                          "nowhere: not found (expected a run directory")
    seconds = time.perf_counter() - started
    bad = tmp_path / "bad"
    bad.mkdir()
    assert_error_contract(evaluate("--run", "bad", cwd=tmp_path), "bad/config.yaml: missing")
    for name in ("model.keras", "data_spec.json"):
        (bad / name).write_bytes(b"x")
    (bad / "config.yaml").write_text("data: [unclosed\n")
    assert_error_contract(evaluate("--run", "bad", cwd=tmp_path), "bad/config.yaml: not valid YAML")
    (bad / "config.yaml").write_text("train:\n  epochz: 3\n")
    assert_error_contract(evaluate("--run", "bad", cwd=tmp_path), "bad/config.yaml: invalid",
                          "train.epochz")
    print(f"a missing run directory is reported in {seconds:.1f} s")


def test_corrupt_model_and_wrong_keys(digits_run, copy_run, tmp_path):
    run = copy_run(digits_run)
    assert_error_contract(evaluate("--run", str(run), "--set", "model.width=3", cwd=tmp_path),
                          "evaluate can change only data.* and evaluation.* keys")
    (run / "model.keras").write_bytes(b"this is not a zip file")
    assert_error_contract(evaluate("--run", str(run), cwd=tmp_path),
                          "model.keras: sha256 does not match")


def test_data_whose_shape_does_not_match_the_model(digits_run, capsys):
    assert_evaluate_fails(capsys, "--run", str(digits_run), "--set", "data.name=breast_cancer",
                          fragments=("data.name=breast_cancer", "shape [30]",
                                     "the model expects [8, 8, 1]"))
    assert not (digits_run / "evaluations").exists()


def test_csv_whose_columns_do_not_match_the_model(csv_run, tmp_path, capsys):
    path = write_wine_csv(tmp_path / "fewer.csv", drop="alcohol")
    assert_evaluate_fails(capsys, "--run", str(csv_run), "--set", f"data.path={path}",
                          fragments=("features do not match", "missing ['alcohol']"))


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_csv_rows_with_non_finite_values_are_an_error(csv_run, tmp_path, capsys, bad):
    path = write_wine_csv(tmp_path / "new.csv", rows=NEW_ROWS)
    lines = path.read_text().splitlines()
    lines[3] = ",".join([bad, *lines[3].split(",")[1:]])
    path.write_text("\n".join(lines) + "\n")
    assert_evaluate_fails(capsys, "--run", str(csv_run), "--set", f"data.path={path}",
                          fragments=("column 'alcohol', line 4", repr(bad),
                                     "is NaN" if bad == "nan" else "is infinite"))
    assert not (csv_run / "evaluations").exists()


def test_evaluate_new_csv_rows_into_their_own_folder(csv_run, copy_run, tmp_path, capsys):
    run = copy_run(csv_run)
    before = (run / "metrics.json").read_text()
    path = write_wine_csv(tmp_path / "new.csv", rows=NEW_ROWS)
    assert main(["evaluate", "--run", str(run), "--set", f"data.path={path}",
                 "evaluation.baselines=[]"]) == 0
    (out,) = (run / "evaluations").iterdir()
    assert out.name.startswith("csv-")
    assert f"into {out}" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["evaluated_run"] == str(run)
    assert sum(metrics[s]["examples"] for s in ("train", "val", "test")) == len(NEW_ROWS)
    assert metrics["fit"] == json.loads(before)["fit"]  # the training run's diagnosis
    assert (out / "report.md").exists() and (out / "plots" / "confusion_matrix_test.png").exists()
    assert (run / "metrics.json").read_text() == before  # the run itself is untouched


def test_evaluate_in_place_keeps_the_training_entries(digits_run, copy_run):
    run = copy_run(digits_run)
    before = json.loads((run / "metrics.json").read_text())
    assert main(["evaluate", "--run", str(run), "--set", "evaluation.baselines=[]",
                 "evaluation.calibration_bins=5"]) == 0
    after = json.loads((run / "metrics.json").read_text())
    assert after["epochs_run"] == before["epochs_run"]
    assert after["train_examples_per_sec"] == before["train_examples_per_sec"]
    assert after["test"]["accuracy"] == pytest.approx(before["test"]["accuracy"])
    assert "baselines" in before and "baselines" not in after  # as the new report says
    assert "`evaluation.calibration_bins` = 5" in (run / "report.md").read_text()


def test_an_out_folder_not_made_by_evaluate_is_refused_before_any_work(digits_run, copy_run,
                                                                       tmp_path, capsys,
                                                                       monkeypatch):
    from bigmodel_tf.finished_run import RunDir
    from bigmodel_tf.run_lock import LOCK_FILE

    def no_work(run, compile=True):
        raise AssertionError("evaluate loaded the model before refusing")

    monkeypatch.setattr(RunDir, "load_verified_model", no_work)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("mine")
    (mine / "report.md").write_text("mine")
    run = copy_run(digits_run)

    def files():  # the lock file holds the pid of the last process that locked the run
        return {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != LOCK_FILE}

    before = files()
    for out, other_data in ((mine, []), (run, ["data.test_fraction=0.3"])):
        assert main(["evaluate", "--run", str(run), "--out", str(out), "--set",
                     "evaluation.baselines=[]", *other_data]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1] == (
            f"bigmodel: error: {out}: exists and was not made by bigmodel evaluate; choose a "
            "new or empty folder")
    assert sorted(p.name for p in mine.iterdir()) == ["config.yaml", "report.md"]
    assert {p.read_text() for p in mine.iterdir()} == {"mine"}
    assert files() == before
