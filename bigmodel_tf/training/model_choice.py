"""Resolve ``model.name=auto`` for the configured data before a run is named or started.

The data's spec decides (bigmodel_tf/models/auto.py); the splits are loaded once and
cached in-process, so the run that follows does not load them again.
"""

from __future__ import annotations

import logging

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data import load_splits
from bigmodel_tf.models.auto import resolve_model

log = logging.getLogger("bigmodel_tf.training")


def auto_model(cfg: ExperimentConfig) -> tuple[ExperimentConfig, str | None]:
    """``cfg`` with ``model.name=auto`` resolved for its data, and what auto chose and why."""
    if cfg.model.name != "auto":
        return cfg, None
    return resolve_model(cfg, load_splits(cfg).spec)


def resolve_auto_model(cfg: ExperimentConfig) -> ExperimentConfig:
    """``auto_model``'s config, logging the choice as a preflight line."""
    cfg, reason = auto_model(cfg)
    if reason:
        log.info("preflight info: %s", reason)
    return cfg
