"""Sub-runs of the evaluation stage: cross-validation folds and data-size fractions.

Each sub-run is a complete run of the training stage (``run_train``) in its own directory
under the main run, with the main config plus a few overrides: its data hook
(``data.cv_fold`` / ``data.train_fraction``), no export, and a light evaluation (no
baselines, interpretation, profiler or nested sub-runs). A finished sub-run is not
retrained, so an interrupted cross-validation picks up where it stopped, and
``bigmodel evaluate --set evaluation.*`` reuses the sub-runs (evaluation settings do not
change what a sub-run trained).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import get_args, get_type_hints

import yaml

from bigmodel_tf.config import ExperimentConfig, replace, to_dict
from bigmodel_tf.config.sections import TaskConfig
from bigmodel_tf.tasks import get_task

log = logging.getLogger("bigmodel_tf.evaluation")

LIGHT_EVALUATION = (
    "evaluation.baselines=[]",
    "evaluation.interpret=false",
    "evaluation.data_size_fractions=[]",
    "evaluation.profile_batches=[]",
    "train.cv_folds=0",
    "train.verbose=0",
    "export.enabled=false",
)
# every task's headline numbers (Task.summary_keys), in task order: a split's are those it has
TASKS = tuple(get_task(name) for name in get_args(get_type_hints(TaskConfig)["name"])
              if name != "auto")
SUMMARY_METRICS = tuple(dict.fromkeys(key for task in TASKS for key in task.summary_keys))


def subrun_config(cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """The main config with the light-evaluation settings and ``overrides`` applied."""
    return replace(cfg, [*LIGHT_EVALUATION, *overrides])


def _finished(cfg: ExperimentConfig, run_dir: Path) -> dict | None:
    """metrics.json of a finished sub-run trained with ``cfg`` up to evaluation.* keys."""
    # Imported here: the training stage imports this stage to evaluate its runs.
    from bigmodel_tf.io import read_json
    from bigmodel_tf.training.run_dir import config_differences

    if not (run_dir / "metrics.json").exists():
        return None
    try:
        saved = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None  # run_train reports the unreadable directory
    diffs = [d for d in config_differences(saved, to_dict(cfg))
             if not d.startswith(("evaluation.", "run_name:", "export."))]
    return None if diffs else read_json(run_dir / "metrics.json")


def train_subrun(cfg: ExperimentConfig, run_dir: Path, overrides: list[str]) -> dict:
    """Train (or reuse, if finished) one sub-run in ``run_dir``; return its metrics.json."""
    from bigmodel_tf.training import run_train

    sub_cfg = subrun_config(cfg, overrides)
    metrics = _finished(sub_cfg, run_dir) or run_train(sub_cfg, run_dir).metrics
    log.info("%s: val accuracy %.4f, test accuracy %.4f", run_dir,
             metrics["val"]["accuracy"], metrics["test"]["accuracy"])
    return metrics


def summary_metrics(split_metrics: dict) -> dict:
    """The headline numbers of one split (no per-class tables) for sub-run tables."""
    return {key: split_metrics[key] for key in SUMMARY_METRICS if key in split_metrics}


def metrics_task(split_metrics: dict):
    """The task whose headline is among one split's metrics (tables of sub-runs)."""
    return next(task for task in TASKS if task.headline in split_metrics)
