"""A tracked training run: params, per-epoch metrics, final metrics, artifacts, export tag."""

import json

import pytest

from bigmodel_tf.io import read_json
from bigmodel_tf.tracking import RECORD_FILE

pytestmark = pytest.mark.slow  # one real training and export


def test_a_run_logs_params_epochs_final_metrics_artifacts_and_export(tracked_run, client_of):
    store, run_dir = tracked_run
    client = client_of(store)
    record = read_json(run_dir / RECORD_FILE)
    assert record["not_logged"] == [] and record["uri"] == store.resolve().as_uri()
    run = client.get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert client.get_experiment(run.info.experiment_id).name == "iris_mlp"  # the default

    params = run.data.params  # the resolved config, flattened
    assert params["model.name"] == "mlp" and params["train.epochs"] == "2"
    assert params["task.name"] == "classification"  # resolved from auto
    assert json.loads(params["export.formats"]) == ["saved_model"]

    history = client.get_metric_history(run.info.run_id, "val_loss")  # one per epoch
    assert [m.step for m in history] == [0, 1]
    assert {"loss", "accuracy", "val_accuracy", "learning_rate"} <= set(run.data.metrics)

    metrics = read_json(run_dir / "metrics.json")  # the final metrics, flattened
    assert run.data.metrics["test.accuracy"] == metrics["test"]["accuracy"]
    assert run.data.metrics["epochs_run"] == 2

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"config.yaml", "metrics.json", "history.csv", "report.md", "plots",
                         "manifest.json"}
    assert client.list_artifacts(run.info.run_id, "plots")

    export_path = metrics["export_path"]
    assert run.data.tags["bigmodel.export_path"] == export_path
    assert run.data.tags["bigmodel.export_version"] == "1" == export_path.rsplit("/", 1)[-1]
