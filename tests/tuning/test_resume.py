"""Resume of every algorithm after an interruption, --fresh, and refused directories.

The training stage is replaced by ``fake_train`` (conftest.py): what is tested is the
search bookkeeping — KerasTuner's reload plus the fixes in oracles.py and tuner.py.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bigmodel_tf.errors import RunDirError
from bigmodel_tf.tuning.search import run_search
from bigmodel_tf.tuning.tuner import ORACLE_DIR
from tests.tuning.conftest import algorithm_config, tune_config

ROOT = Path(__file__).parents[2]

ALGORITHMS = ["random", "grid", "bayesian", "hyperband", "evolution"]


def interrupted_then_resumed(tmp_path, fake_train, cfg, interrupt_at=3):
    """Run a search that is interrupted in its ``interrupt_at``-th trial, then rerun it."""
    fake_train.interrupt_at = interrupt_at
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, tmp_path / "search")
    fake_train.interrupt_at = None
    return run_search(cfg, tmp_path / "search")


@pytest.fixture(scope="module")
def killed_searches(tmp_path_factory) -> tuple[Path, dict]:
    """Every algorithm's search SIGKILLed in its third trial (kill_probe.py, one interpreter
    for all of them): (root of the search directories, {algorithm: signal of its end})."""
    root = tmp_path_factory.mktemp("killed")
    probe = subprocess.run([sys.executable, "-m", "tests.tuning.kill_probe", str(root), "3",
                            *ALGORITHMS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-2000:]
    return root, json.loads(probe.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_search_killed_mid_trial_resumes_to_the_uninterrupted_best(tmp_path, fake_train,
                                                                     killed_searches, algorithm):
    root, signals = killed_searches
    assert signals[algorithm] == signal.SIGKILL, signals
    cfg = algorithm_config(algorithm)
    result = run_search(cfg, root / algorithm)
    # Trials 0 and 1 finished before the kill and are not trained again; the killed
    # trial 2 runs once more; every later trial runs once.
    assert fake_train.calls == ["2", "3", "4", "5"]
    assert [row["status"] for row in result.rows] == ["COMPLETED"] * 6
    assert sorted(row["trial"] for row in result.rows) == ["0", "1", "2", "3", "4", "5"]
    assert len({json.dumps(row["values"], sort_keys=True) for row in result.rows}) == 6
    # Every algorithm here is deterministic given the seed: the same trials, the same best.
    straight = run_search(cfg, tmp_path / "straight")
    assert [r["values"] for r in result.rows] == [r["values"] for r in straight.rows]
    assert {k: result.best[k] for k in ("trial", "values", "objective")} == {
        k: straight.best[k] for k in ("trial", "values", "objective")}


def test_grid_resume_keeps_grid_order(tmp_path, fake_train):
    """keras-tuner#1055: a resumed grid search continues the grid, no KeyError, no repeat."""
    cfg = tune_config("tune.algorithm=grid")
    resumed = interrupted_then_resumed(tmp_path / "a", fake_train, cfg, interrupt_at=2)
    fake_train.calls.clear()
    straight = run_search(cfg, tmp_path / "b" / "search")
    assert [r["values"] for r in resumed.rows] == [r["values"] for r in straight.rows]


def test_trial_lost_before_the_oracle_saved_it_is_rerun(tmp_path, fake_train):
    """A kill between writing trial.json and oracle.json leaves a RUNNING trial behind."""
    cfg = tune_config("tune.max_trials=3")
    fake_train.interrupt_at = 2
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, tmp_path / "search")
    oracle_file = tmp_path / "search" / ORACLE_DIR / "oracle.json"
    state = json.loads(oracle_file.read_text())
    state["ongoing_trials"] = {}  # as if oracle.json had been saved before trial 1 began
    oracle_file.write_text(json.dumps(state))
    fake_train.interrupt_at = None
    result = run_search(cfg, tmp_path / "search")
    assert [r["status"] for r in result.rows] == ["COMPLETED"] * 3
    assert fake_train.calls == ["0", "1", "1", "2"]


def test_fresh_starts_over_only_when_asked(tmp_path, fake_train):
    cfg = tune_config("tune.max_trials=2")
    run_search(cfg, tmp_path / "search")
    run_search(cfg, tmp_path / "search")  # finished: nothing is trained again
    assert fake_train.calls == ["0", "1"]
    run_search(cfg, tmp_path / "search", fresh=True)
    assert fake_train.calls == ["0", "1", "0", "1"]


def test_a_larger_budget_extends_the_search(tmp_path, fake_train):
    run_search(tune_config("tune.max_trials=2"), tmp_path / "search")
    result = run_search(tune_config("tune.max_trials=4"), tmp_path / "search")
    assert fake_train.calls == ["0", "1", "2", "3"] and len(result.rows) == 4


def test_a_different_config_is_refused(tmp_path, fake_train):
    run_search(tune_config("tune.max_trials=1"), tmp_path / "search")
    with pytest.raises(RunDirError, match="different config.*model.name"):
        run_search(tune_config("tune.max_trials=1", "model.name=mlp"), tmp_path / "search")


def test_a_directory_that_is_not_a_search_is_refused(tmp_path, fake_train):
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not a search directory"):
        run_search(tune_config(), tmp_path / "search", fresh=True)
    assert (tmp_path / "search" / "notes.txt").exists()
