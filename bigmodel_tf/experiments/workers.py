"""Where this process runs in a multi-worker run: its config and run directory.

The chief (training/workers.py says who that is) writes the run directory itself. The
other workers train in lockstep with it and write their own copies (config, history,
TensorBoard, model, metrics) under ``<run_dir>/workers/worker-<i>/`` — TensorFlow's advice
for non-chief workers — and never export.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bigmodel_tf.config import ExperimentConfig, with_changes
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.experiments.settings import METRICS_ONLY, UNTRACKED
from bigmodel_tf.training.run_dir import WORKERS_DIR
from bigmodel_tf.training.workers import worker_role


def for_this_worker(cfg: ExperimentConfig, run_dir: Path) -> tuple[ExperimentConfig, Path]:
    """The config and run directory this process uses (unchanged outside a cluster).

    A non-chief worker writes under ``<run_dir>/workers/<name>`` with METRICS_ONLY,
    untracked (only the chief logs to the tracker).
    When the chief has already finished (this worker was stopped after training, during
    its own evaluation), the chief's metrics are the run's: the worker reports it
    finished too instead of waiting for a chief that will never train again.
    """
    role = worker_role()
    if role is not None and (cfg.train.cv_folds or cfg.evaluation.data_size_fractions):
        # Their sub-runs would each create a MultiWorkerMirroredStrategy in this process,
        # and a worker's sub-run would not find the chief's backup (callbacks.py).
        raise ConfigError("train.cv_folds and evaluation.data_size_fractions: not supported "
                          "in multi-worker training; run them on one machine")
    if role is None or role.is_chief:
        return cfg, run_dir
    own = run_dir / WORKERS_DIR / role.name
    chief_metrics, own_metrics = run_dir / "metrics.json", own / "metrics.json"
    if chief_metrics.exists() and not own_metrics.exists() and (own / "config.yaml").exists():
        shutil.copyfile(chief_metrics, own_metrics)
    return with_changes(cfg, {**METRICS_ONLY, **UNTRACKED}), own
