"""A search end to end with the fast stand-in trainer: results, HParams, failures."""

import csv

import pytest
import yaml

from bigmodel_tf.errors import ConfigError
from bigmodel_tf.tuning.compare import run_compare
from bigmodel_tf.tuning.search import SearchError, run_search
from tests.tuning.conftest import fake_accuracy, tune_config


def test_results_table_plot_best_config_and_hparams(tmp_path, fake_train):
    result = run_search(tune_config("tune.algorithm=evolution"), tmp_path / "s")
    search = tmp_path / "s"
    with (search / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["trial"] for r in rows] == ["0", "1", "2", "3", "4", "5"]
    assert {"status", "generation", "train.learning_rate", "model.width", "objective", "epochs",
            "seconds"} <= set(rows[0])
    best = max(result.rows, key=lambda r: r["objective"])
    assert result.best["trial"] == best["trial"]
    markdown = (search / "results.md").read_text()
    assert f"Best: trial {best['trial']}" in markdown and "## Generations" in markdown
    assert (search / "objective.png").stat().st_size > 0
    saved = yaml.safe_load((search / "best_config.yaml").read_text())
    assert saved["model"]["width"] == best["values"]["model.width"]
    assert saved["train"]["epochs"] == 10 and saved["export"]["enabled"] is True
    for trial in result.rows:  # one HParams session per trial run directory
        assert list((search / "trials" / trial["trial"] / "tensorboard").glob("events.*"))
    assert list((search / "tensorboard").glob("events.*"))  # the HParams experiment


def test_trial_configs_use_the_space_values_and_max_epochs(tmp_path, fake_train):
    result = run_search(tune_config("tune.max_trials=3", "tune.max_epochs=4"), tmp_path / "s")
    for row in result.rows:
        saved = yaml.safe_load((tmp_path / "s" / "trials" / row["trial"] / "metrics.json")
                               .read_text())
        assert saved["epochs_run"] == 4
        assert row["objective"] == pytest.approx(saved["val"]["accuracy"])


def test_executions_are_averaged_into_one_objective(tmp_path, fake_train):
    result = run_search(tune_config("tune.max_trials=2", "tune.executions_per_trial=2"),
                        tmp_path / "s")
    assert fake_train.calls == ["0", "0.1", "1", "1.1"]
    assert [r["epochs"] for r in result.rows] == [20, 20]


def test_an_impossible_combination_fails_that_trial_only(tmp_path, fake_train):
    # Widths 32..40 are valid bounds for 4 heads; 34 and 38 are not multiples of 4.
    cfg = tune_config("tune.algorithm=grid", "tune.max_trials=5", "model.name=transformer",
                      "tune.space.model.width.min=32", "tune.space.model.width.max=40",
                      "tune.space.model.width.step=2", "tune.space.model.depth=null",
                      "tune.space.model.dropout=null", "tune.space.data.batch_size=null",
                      "tune.space.train.learning_rate=null")
    result = run_search(cfg, tmp_path / "s")
    statuses = {r["values"]["model.width"]: r["status"] for r in result.rows}
    assert statuses == {32: "COMPLETED", 34: "FAILED", 36: "COMPLETED", 38: "FAILED",
                        40: "COMPLETED"}
    assert fake_train.calls == ["0", "2", "4"]  # failed trials never reached training


def test_consecutive_failures_stop_the_search_with_the_reason(tmp_path, fake_train):
    cfg = tune_config("tune.algorithm=grid", "model.name=transformer", "model.num_heads=5",
                      "model.width=20", "tune.space.model.width.min=20",
                      "tune.space.model.width.max=25", "tune.space.model.width.step=1",
                      "tune.space.model.depth=null", "tune.space.model.dropout=null",
                      "tune.space.data.batch_size=null", "tune.space.train.learning_rate=null",
                      "tune.max_consecutive_failures=2")
    with pytest.raises(SearchError, match="2 failed trials in a row; the last: trial 2: "
                                          "model.width: expected a multiple of"):
        run_search(cfg, tmp_path / "s")


def test_an_objective_missing_from_metrics_stops_at_once(tmp_path, fake_train):
    with pytest.raises(ConfigError, match="'val.f1_macro' is not in metrics.json"):
        run_search(tune_config("tune.objective=val.f1_macro"), tmp_path / "s")
    assert fake_train.calls == ["0"]


def test_compare_reports_algorithms_side_by_side(tmp_path, fake_train):
    cfg = tune_config("tune.max_trials=4", "tune.population_size=2")
    summary = run_compare(cfg, ["random", "evolution"], tmp_path / "c")
    assert [s["algorithm"] for s in summary] == ["random", "evolution"]
    target = min(s["best"] for s in summary)
    for s in summary:
        assert s["trials"] == 4 and s["target"] == target
        assert 1 <= s["trials_to_target"] <= s["trials_to_best"] <= 4
        assert s["epochs_to_best"] == 10 * s["trials_to_best"]
    assert (tmp_path / "c" / "compare.md").exists() and (tmp_path / "c" / "compare.png").exists()
    assert (tmp_path / "c" / "random" / "results.csv").exists()


def test_fake_objective_is_what_the_search_maximizes():
    assert fake_accuracy(tune_config("train.learning_rate=0.00316", "model.width=64")) > 0.99


@pytest.mark.parametrize("broken", ["nan_at", "diverge_at"])
def test_a_nan_or_diverged_trial_is_failed_and_never_best(tmp_path, fake_train, broken):
    # Grid over widths 32, 64, 96; the broken trial is the one the fake objective rates best.
    cfg = tune_config("tune.algorithm=grid", "tune.max_trials=3", "train.learning_rate=0.00316",
                      "tune.space.model.width.min=32", "tune.space.model.width.max=96",
                      "tune.space.model.width.step=32", "tune.space.model.depth=null",
                      "tune.space.model.dropout=null", "tune.space.data.batch_size=null",
                      "tune.space.train.learning_rate=null")
    setattr(fake_train, broken, {1})  # the grid starts at the defaults: width 64
    result = run_search(cfg, tmp_path / "s")
    statuses = {r["values"]["model.width"]: r["status"] for r in result.rows}
    assert statuses == {32: "COMPLETED", 64: "FAILED", 96: "COMPLETED"}
    assert result.best["status"] == "COMPLETED" and result.best["values"]["model.width"] != 64
    best_config = yaml.safe_load((tmp_path / "s" / "best_config.yaml").read_text())
    assert best_config["model"]["width"] == result.best["values"]["model.width"]
