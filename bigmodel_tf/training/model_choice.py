"""Resolve ``task.name=auto`` and ``model.name=auto`` before a run is named or started.

The data decides both: the labels the task (bigmodel_tf/tasks/: ``infer_task``), the spec
the model (bigmodel_tf/models/auto.py); neither needs the normalization statistics, which
are left for the training stage (``load_splits(cfg, statistics=False)``: no pass over a
streamed source, TensorFlow's runtime not started before the strategy is chosen). The
splits are loaded once and cached in-process, so the run that follows does not load them
again. The resolved config is what a run saves
and hashes, and the task's config rules (``Task.check_config``) are checked on it.
"""

from __future__ import annotations

import logging

from bigmodel_tf.config import ExperimentConfig, with_changes
from bigmodel_tf.data import load_splits
from bigmodel_tf.models.auto import resolve_model
from bigmodel_tf.tasks import get_task

log = logging.getLogger("bigmodel_tf.training")


def auto_task(cfg: ExperimentConfig) -> tuple[ExperimentConfig, str | None]:
    """``cfg`` with ``task.name=auto`` resolved for its data (checked against the task's
    rules), and what auto chose (None when the task was given)."""
    reason = None
    if cfg.task.name == "auto":
        name = load_splits(cfg, statistics=False).spec.task
        cfg = with_changes(cfg, {"task.name": name})
        reason = f"task.name=auto chose {name} for data.name={cfg.data.name}"
    get_task(cfg.task.name).check_config(cfg.task, cfg.data, cfg.train)
    return cfg, reason


def auto_model(cfg: ExperimentConfig) -> tuple[ExperimentConfig, str | None]:
    """``cfg`` with ``task.name=auto`` and ``model.name=auto`` resolved for its data, and
    what auto chose and why (None when neither was auto)."""
    cfg, task_reason = auto_task(cfg)
    if cfg.model.name != "auto":
        return cfg, task_reason
    cfg, model_reason = resolve_model(cfg, load_splits(cfg, statistics=False).spec)
    return cfg, "; ".join(r for r in (model_reason, task_reason) if r)


def resolve_auto_model(cfg: ExperimentConfig) -> ExperimentConfig:
    """``auto_model``'s config, logging the choice as a preflight line."""
    cfg, reason = auto_model(cfg)
    if reason:
        log.info("preflight info: %s", reason)
    return cfg
