"""A search is one tracker run, each trial a run nested under it."""

import pytest
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from bigmodel_tf.io import read_json
from bigmodel_tf.tracking import RECORD_FILE
from bigmodel_tf.tuning.search import run_search
from bigmodel_tf.tuning.settings import load_tune_config
from tests.tracking.conftest import tracked

pytestmark = pytest.mark.slow  # two real trials


def test_a_search_has_one_parent_run_and_a_nested_run_per_trial(tmp_path):
    store = tmp_path / "mlruns"
    cfg = load_tune_config(None, [*tracked(store), "tune.algorithm=random", "tune.max_trials=2",
                                  "tune.max_epochs=1", "tracking.experiment=tiny search"])
    found = run_search(cfg, tmp_path / "search")
    client = MlflowClient(tracking_uri=store.as_uri())
    experiment = client.get_experiment_by_name("tiny search")
    runs = client.search_runs([experiment.experiment_id])
    parent_id = read_json(tmp_path / "search" / RECORD_FILE)["run_id"]
    parent = next(r for r in runs if r.info.run_id == parent_id)
    trials = [r for r in runs if r.data.tags.get(MLFLOW_PARENT_RUN_ID) == parent_id]
    assert len(runs) == 3 and len(trials) == 2 and MLFLOW_PARENT_RUN_ID not in parent.data.tags
    assert parent.data.metrics["trials_completed"] == 2
    assert parent.data.metrics["best_objective"] == found.best["objective"]
    assert parent.data.tags["bigmodel.best_trial"] == found.best["trial"]
    assert {"results.csv", "best_config.yaml"} <= {
        a.path for a in client.list_artifacts(parent_id)}
    for trial in trials:
        assert trial.info.status == "FINISHED" and trial.data.params["train.epochs"] == "1"
        assert "val.accuracy" in trial.data.metrics
        assert [m.step for m in client.get_metric_history(trial.info.run_id, "loss")] == [0]
    assert {t.info.run_name for t in trials} == {row["trial"] for row in found.rows}
