"""Bad tracking stores fail before training; a tracker failing mid-run does not stop it."""

import logging
import socket

import pytest
from mlflow.tracking import MlflowClient

from bigmodel_tf.io import read_json
from bigmodel_tf.tracking import RECORD_FILE
from tests.tracking.conftest import TINY, tracked, train


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("where, why", [("unreachable server", "Connection refused"),
                                        ("unwritable folder", "Not a directory")])
def test_a_store_that_cannot_be_used_fails_before_training(where, why, tmp_path, capsys):
    if where == "unreachable server":
        uri = f"http://127.0.0.1:{free_port()}"
    else:
        (tmp_path / "a_file").write_text("not a folder")
        uri = str(tmp_path / "a_file" / "mlruns")
    status = train(tmp_path / "run", *TINY, "tracking.backend=mlflow", f"tracking.uri={uri}")
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 2
    assert err.startswith("bigmodel: error: tracking.uri: cannot log to the MLflow store")
    assert why in err and not (tmp_path / "run").exists()  # nothing trained


def test_a_tracker_failing_mid_run_lets_training_finish_and_says_what_was_lost(
        tmp_path, monkeypatch, caplog):
    logged_batch = MlflowClient.log_batch

    def fail_from_epoch_1(self, run_id, metrics=(), **kwargs):
        if any(m.step == 1 for m in metrics):
            raise OSError("the store went away")
        return logged_batch(self, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", fail_from_epoch_1)
    store, run_dir = tmp_path / "mlruns", tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="bigmodel_tf.tracking"):
        assert train(run_dir, *tracked(store, "export.enabled=false")) == 0
    assert (run_dir / "metrics.json").exists()  # the run finished
    record = read_json(run_dir / RECORD_FILE)
    assert record["epochs_not_logged"] == [1] and record["failure"] == "the store went away"
    assert record["not_logged"][:3] == ["per-epoch metrics", "final metrics",
                                        "artifact config.yaml"]
    assert "the run's end status" in record["not_logged"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # the failure, then the summary of what was not logged
    assert "per-epoch metrics" in warnings[0] and "the store went away" in warnings[0]
    assert str(run_dir / RECORD_FILE) in warnings[1]
    run = MlflowClient(tracking_uri=store.as_uri()).get_run(record["run_id"])
    assert run.info.status == "RUNNING"  # its end was not logged either
    assert [m.step for m in MlflowClient(tracking_uri=store.as_uri()).get_metric_history(
        record["run_id"], "loss")] == [0]
