"""A run's tracker on MLflow, through ``MlflowClient`` with the run's id (no ambient run).

Started before training (``start_mlflow_run``): the experiment is found or created and the
run created or, when the folder's tracking.json names a run of the same store, reopened;
a failure there is a ``TrackingError``. From then on every call goes through ``_send``:
the first failure is a warning and turns the tracker off for the rest of the run (a
store that just failed would slow every epoch down with its retries), and what was not
sent is listed in tracking.json and in a warning when the run ends.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from bigmodel_tf.io import write_json
from bigmodel_tf.tracking.callback import TrackingCallback
from bigmodel_tf.tracking.flatten import flat_metrics, flat_params, is_number
from bigmodel_tf.tracking.record import RECORD_FILE, read_record
from bigmodel_tf.tracking.store import experiment_id, quick_requests, resolve_uri
from bigmodel_tf.tracking.tracker import Tracker, TrackingError

log = logging.getLogger("bigmodel_tf.tracking")

BATCH = 100  # params or tags per request (MLflow's limit)
METRICS_BATCH = 1000  # metrics per request (MLflow's limit)
RUN_DIR_TAG = "bigmodel.run_dir"
EPOCH_METRICS = "per-epoch metrics"
MAX_REASON = 200  # characters of a failure's reason in the messages


def reason(exc: BaseException) -> str:
    """Why a tracker call failed, in a few words: the operating system's error inside an
    HTTP client's message (``[Errno 111] Connection refused``), else the message's first
    line, cut to a readable length."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    os_error = None if isinstance(exc, OSError) else re.search(  # an OSError is short
        r"\[Errno -?\d+\] [^\"'()]+", line)
    if os_error:
        return os_error.group(0).strip()
    return line if len(line) <= MAX_REASON else line[:MAX_REASON - 3] + "..."


def _chunks(items: list, size: int = BATCH) -> Iterable[list]:
    """``items`` in lists of at most ``size``."""
    return (items[i:i + size] for i in range(0, len(items), size))


class MlflowTracker(Tracker):
    """Logs one MLflow run; ``run_id`` None: the store failed at the start (a nested run)."""

    def __init__(self, client: MlflowClient | None, uri: str, run_id: str | None,
                 record_dir: Path, parent: str | None, failure: str | None = None):
        self.client, self.uri, self.run_id = client, uri, run_id
        self.record_dir, self.parent = record_dir, parent
        self.failure = failure  # the first failure; nothing is sent after it
        self.not_logged: list[str] = ["the run itself"] if failure else []
        self.epochs_not_logged: list[int] = []
        self.finished = False
        self._record_owned = (record_dir / RECORD_FILE).exists()

    def _send(self, what: str, call: Callable, *args, **kwargs) -> bool:
        """Make one tracker call; on failure (now or earlier) note ``what`` as not logged."""
        if self.failure is None:
            try:
                call(*args, **kwargs)
                return True
            except Exception as exc:  # any store failure: the run goes on without it
                self.failure = reason(exc)
                log.warning("tracking: could not log %s to %s (%s); the run goes on and "
                            "sends nothing more to the tracker", what, self.uri, self.failure)
        if what not in self.not_logged:
            self.not_logged.append(what)
        return False

    def callbacks(self) -> list:
        """The per-epoch callback, bound to this tracker."""
        return [TrackingCallback(self)]

    def log_params(self, params: Mapping[str, Any], logged: Mapping[str, str]) -> None:
        """Log the flattened ``params`` that the run does not hold yet (``logged``)."""
        items = [Param(k, v) for k, v in flat_params(params).items() if k not in logged]
        for chunk in _chunks(items):
            if not self._send("params", self.client.log_batch, self.run_id, params=chunk):
                return

    def _log_metrics(self, what: str, metrics: Mapping[str, float], step: int) -> bool:
        """Log ``metrics`` at ``step``, in as few requests as MLflow allows."""
        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, step) for k, v in metrics.items()]
        return all(self._send(what, self.client.log_batch, self.run_id, metrics=chunk)
                   for chunk in _chunks(batch, METRICS_BATCH))

    def log_epoch(self, epoch: int, logs: Mapping[str, Any]) -> None:
        """Log one epoch's numbers at step ``epoch``."""
        numbers = flat_metrics({k: float(v) for k, v in logs.items() if is_number(v)})
        if not self._log_metrics(EPOCH_METRICS, numbers, epoch):
            self.epochs_not_logged.append(int(epoch))

    def finish(self, metrics: Mapping[str, Any], artifacts: Iterable[Path],
               tags: Mapping[str, str]) -> None:
        """Log the final metrics at step 0, every artifact that exists, then ``tags``."""
        self._log_metrics("final metrics", flat_metrics(metrics), 0)
        for path in artifacts:
            if path.is_dir():
                self._send(f"artifact {path.name}/", self.client.log_artifacts, self.run_id,
                           str(path), path.name)
            elif path.is_file():
                self._send(f"artifact {path.name}", self.client.log_artifact, self.run_id,
                           str(path))
        if tags:
            self._send("tags", self.client.log_batch, self.run_id,
                       tags=[RunTag(k, str(v)) for k, v in tags.items()])
        self.finished = True

    def write_record(self) -> None:
        """Write tracking.json: the store, the run, the parent and what was not logged."""
        self._record_owned = True
        record = {"backend": "mlflow", "uri": self.uri, "run_id": self.run_id,
                  "parent_run_id": self.parent, "not_logged": self.not_logged,
                  "epochs_not_logged": self.epochs_not_logged}
        if self.failure:
            record["failure"] = self.failure
        write_json(self.record_dir / RECORD_FILE, record)

    def __exit__(self, exc_type, exc, tb) -> None:
        """End the run (FINISHED, FAILED, or KILLED: preempted, interrupted, not finished
        here), update tracking.json and warn about anything that was not logged."""
        if exc_type is None:
            status = "FINISHED" if self.finished else "KILLED"
        else:
            status = "FAILED" if issubclass(exc_type, Exception) else "KILLED"
        if self.run_id is not None:
            self._send("the run's end status", self.client.set_terminated, self.run_id, status)
        if self._record_owned:
            self.write_record()
        if self.not_logged:
            epochs = ", ".join(map(str, self.epochs_not_logged))
            lost = [f"{what} (epochs {epochs})" if what == EPOCH_METRICS else what
                    for what in self.not_logged]
            where = f"; see {self.record_dir / RECORD_FILE}" if self._record_owned else ""
            log.warning("tracking: not logged to %s: %s%s", self.uri, ", ".join(lost), where)


def _reopen(client: MlflowClient, record_dir: Path, uri: str) -> tuple[str, dict] | None:
    """(run id, its params) of the run that tracking.json names in this store, reopened;
    None when there is none (or it was deleted)."""
    record = read_record(record_dir)
    if record.get("uri") != uri or not record.get("run_id"):
        return None
    try:
        run = client.get_run(record["run_id"])
    except MlflowException:
        return None
    if run.info.lifecycle_stage != "active":
        return None
    client.update_run(run.info.run_id, status="RUNNING")
    return run.info.run_id, run.data.params


def start_mlflow_run(uri: str | None, experiment: str, record_dir: Path, run_name: str,
                     params: Mapping[str, Any], parent: str | None) -> MlflowTracker:
    """Connect, create or reopen the run, log ``params``; see the module docstring."""
    uri = resolve_uri(uri)
    try:
        with quick_requests(uri):
            client = MlflowClient(tracking_uri=uri)
            reopened = _reopen(client, record_dir, uri)
            if reopened is None:
                tags = {MLFLOW_RUN_NAME: run_name, RUN_DIR_TAG: str(record_dir.resolve())}
                if parent:
                    tags[MLFLOW_PARENT_RUN_ID] = parent
                run = client.create_run(experiment_id(client, experiment), run_name=run_name,
                                        tags=tags)
                reopened = run.info.run_id, {}
    except Exception as exc:  # the store's own errors, OSError, the HTTP client's
        message = (str(exc) if isinstance(exc, TrackingError)
                   else f"tracking.uri: cannot log to the MLflow store {uri} ({reason(exc)})")
        if parent is None:
            raise TrackingError(message) from None
        log.warning("tracking: %s; the trial goes on untracked", message)
        return MlflowTracker(None, uri, None, record_dir, parent, failure=reason(exc))
    tracker = MlflowTracker(client, uri, reopened[0], record_dir, parent)
    tracker.log_params(params, reopened[1])
    return tracker
