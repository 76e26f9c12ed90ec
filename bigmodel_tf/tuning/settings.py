"""The ``tune`` section as a whole: objective, direction, budget rules and the space.

``load_tune_config`` builds the experiment config of ``bigmodel tune`` and
``resolve_tune`` checks everything a search needs before any trial runs (the error
contract: one ``ConfigError`` naming the key). The objective is any number in a trial's
metrics.json, written as a dotted path (``val.accuracy``, ``test.f1_macro``, ``epochs_run``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from pathlib import Path

from bigmodel_tf.config import ExperimentConfig, TuneConfig, load_config, replace, with_changes
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.tasks import get_task
from bigmodel_tf.tuning.space import FIELDS_BY_TYPE, normalize_space, resolve_space

TOP_LEVEL_METRICS = ("epochs_run", "train_examples_per_sec", "parameters")
LOWER_IS_BETTER = ("loss", "rmse", "mae")  # metric names (or parts) a search minimizes
_SPLIT_METRIC = re.compile(r"^(train|val|test)\.[A-Za-z_][A-Za-z0-9_]*$")


def load_tune_config(path: str | Path | None, overrides: typing.Iterable[str]) -> (
    ExperimentConfig
):
    """The config file plus ``--set`` overrides, with ``tune.space.*`` overrides applied to
    the file's (or the default) space instead of replacing it."""
    overrides = list(overrides)
    space_edits = [o for o in overrides if o.strip().startswith("tune.space.")]
    cfg = load_config(path, [o for o in overrides if o not in space_edits])
    if not space_edits:
        return cfg
    drops = _fields_a_new_type_drops(cfg.tune.space, space_edits)
    return replace(with_changes(cfg, drops), space_edits)


def _fields_a_new_type_drops(space: dict, space_edits: list[str]) -> dict[str, None]:
    """``{tune.space.K.F: None}`` for each field F of entry K that ``--set tune.space.K.type=T``
    leaves without meaning (not a field of T, not set on the command line), so that
    ``--set tune.space.K.type=choice tune.space.K.values=[...]`` turns a range into a choice.
    """
    try:
        current = normalize_space(space, {})
    except ConfigError:  # a malformed space: resolve_space reports it with its key
        return {}
    given = {edit.partition("=")[0].strip() for edit in space_edits}
    drops = {}
    for edit in space_edits:
        name, _, new_type = (part.strip() for part in edit.partition("="))
        if not name.endswith(".type") or new_type not in FIELDS_BY_TYPE:
            continue
        key = name.removeprefix("tune.space.").removesuffix(".type")
        drops.update({f"tune.space.{key}.{field}": None for field in current.get(key, {})
                      if field not in FIELDS_BY_TYPE[new_type]
                      and f"tune.space.{key}.{field}" not in given})
    return drops


def direction(tune: TuneConfig) -> str:
    """``max`` or ``min``: ``tune.direction``, or for ``auto`` min for a loss or an error
    (RMSE, MAE), else max."""
    if tune.direction != "auto":
        return tune.direction
    metric = tune.objective.rsplit(".", 1)[-1]
    return "min" if any(part in metric for part in LOWER_IS_BETTER) else "max"


def metric_value(metrics: dict, name: str) -> float | None:
    """The number at dotted path ``name`` in a metrics.json dict (None if not a finite number:
    a NaN must fail its trial, never compare as the best)."""
    node = metrics
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(name)
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float) or not math.isfinite(node):
        return None
    return float(node)


def _check_objective(name: str) -> None:
    """The objective names a metric of metrics.json (train/val/test.<metric> or top level)."""
    if name != "auto" and name not in TOP_LEVEL_METRICS and not _SPLIT_METRIC.match(name):
        raise ConfigError(
            "tune.objective: expected a number of metrics.json such as val.accuracy, "
            f"val.loss, val.f1_macro, test.roc_auc or {', '.join(TOP_LEVEL_METRICS)}, "
            f"got {name!r}"
        )


def resolve_tune(cfg: ExperimentConfig) -> ExperimentConfig:
    """``cfg`` with its space in canonical form and ``tune.objective=auto`` made the task's
    val headline once the task is known, after checking every tune rule."""
    t = cfg.tune
    _check_objective(t.objective)
    if t.objective == "auto" and cfg.task.name != "auto":
        t = dataclasses.replace(t, objective=f"val.{get_task(cfg.task.name).headline}")
    if t.tournament_size > t.population_size:
        raise ConfigError(
            f"tune.tournament_size: expected at most tune.population_size "
            f"({t.population_size}), got {t.tournament_size}"
        )
    if t.elitism > t.population_size:
        raise ConfigError(
            f"tune.elitism: expected at most tune.population_size ({t.population_size}), "
            f"got {t.elitism}"
        )
    if t.lr_finder_min >= t.lr_finder_max:
        raise ConfigError(
            f"tune.lr_finder_min: expected less than tune.lr_finder_max ({t.lr_finder_max:g}), "
            f"got {t.lr_finder_min:g}"
        )
    space = resolve_space(cfg)
    return dataclasses.replace(cfg, tune=dataclasses.replace(t, space=space))


def parse_algorithms(text: str) -> list[str]:
    """``--compare random,bayesian,...`` as a list of distinct algorithm names."""
    allowed = typing.get_args(typing.get_type_hints(TuneConfig)["algorithm"])
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if not names or unknown or len(set(names)) != len(names):
        raise ConfigError(f"--compare: expected distinct algorithms among {', '.join(allowed)} "
                          f"separated by commas, got {text!r}")
    return names
