"""Experiment tracking: a run's params, per-epoch and final metrics, artifacts and tags in
an experiment tracker (``tracking.backend=mlflow``), logged by the chief only.

``start(section, record_dir, ...) -> Tracker`` is the one entry. With ``backend: none``
it returns a tracker that does nothing, and no tracker library is imported. With
``mlflow`` it connects to the store (store.py) and creates (or, for a resumed run,
reopens) the tracker's run before any training: a store that cannot be reached or
written is a ``TrackingError`` (one line, exit 2). After that a failing tracker never
stops the run: the first failure is a warning, later calls are skipped, and the run
directory's ``tracking.json`` lists what was not logged (mlflow_run.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bigmodel_tf.config import TrackingConfig
from bigmodel_tf.tracking.record import RECORD_FILE, recorded_run_id
from bigmodel_tf.tracking.tracker import Tracker, TrackingError

__all__ = ["RECORD_FILE", "Tracker", "TrackingError", "default_experiment", "recorded_run_id",
           "start"]


def default_experiment(data_name: str, model_name: str) -> str:
    """The experiment of ``tracking.experiment: null``: ``<data.name>_<model.name>``."""
    return f"{data_name}_{model_name}"


def start(section: TrackingConfig, record_dir: Path, *, run_name: str,
          default_experiment: str, params: Mapping[str, Any],
          parent: str | None = None) -> Tracker:
    """The tracker of one run, its run created and ``params`` logged (flattened).

    ``record_dir`` holds ``tracking.json`` (the tracker run's id, reused on resume);
    ``parent`` nests the run under that tracker run (a tuning trial under its search),
    and then a store that fails at the start is a warning, not an error, since the
    search it belongs to is already running.
    """
    if section.backend == "none":
        return Tracker()
    from bigmodel_tf.tracking.mlflow_run import start_mlflow_run

    return start_mlflow_run(section.uri, section.experiment or default_experiment,
                            Path(record_dir), run_name, params, parent)
