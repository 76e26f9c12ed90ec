"""Config checks: a field's numeric range and the rules that involve more than one key.

A violation is a ``ConfigError`` naming the key and what is allowed; the checks run
in a fixed order, so the first broken rule is the one reported.
"""

from __future__ import annotations

import typing
from typing import Any

from bigmodel_tf.config.experiment import CompressionConfig, ExperimentConfig
from bigmodel_tf.config.sections import DataConfig, EvaluationConfig, TrainConfig, num_range
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.plugins import is_plugin_path, load_plugin


def check_range(key: str, value: Any, meta: typing.Mapping) -> None:
    """Raise ConfigError when a number is outside the field's inclusive range."""
    lo, hi = meta.get("min"), meta.get("max")
    values = value if isinstance(value, list) else [value]
    for v in values:
        if v is None or not isinstance(v, int | float):
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise ConfigError(f"{key}: expected a value {bounds}, got {v!r}")


def validate(cfg: ExperimentConfig) -> None:
    """Check rules that involve more than one key (impossible combinations)."""
    d, t = cfg.data, cfg.train
    for key, name in (("model.name", cfg.model.name), ("data.name", d.name)):
        if is_plugin_path(name):
            load_plugin(key, name)  # imports it: a broken plug-in fails before any work
    if d.val_fraction + d.test_fraction >= 0.9:
        raise ConfigError(
            "data.val_fraction + data.test_fraction: expected a sum below 0.9, "
            f"got {d.val_fraction + d.test_fraction:g}"
        )
    if d.name in ("csv", "image_dir", "tfrecord") and not d.path:
        raise ConfigError(f"data.path: required when data.name={d.name} (a file or folder)")
    if d.name == "csv" and not d.label:
        raise ConfigError("data.label: required when data.name=csv (the label column's name)")
    if len(d.image_size) != 2:
        raise ConfigError(f"data.image_size: expected [height, width], got {d.image_size}")
    check_range("data.image_size", d.image_size, num_range(4, 4096))
    props = d.synthetic.class_proportions
    if props is not None:
        if len(props) != d.synthetic.num_classes:
            raise ConfigError(
                "data.synthetic.class_proportions: expected one value per class "
                f"({d.synthetic.num_classes}), got {len(props)}"
            )
        if any(p <= 0 for p in props):
            raise ConfigError("data.synthetic.class_proportions: expected positive values")
    if t.reduce_on_plateau and t.schedule != "constant":
        raise ConfigError(
            "train.reduce_on_plateau: cannot be combined with "
            f"train.schedule={t.schedule}; use schedule=constant or turn reduce_on_plateau off"
        )
    if t.max_rollbacks and t.schedule != "constant":
        raise ConfigError(
            f"train.max_rollbacks: a rollback lowers the learning rate, which "
            f"train.schedule={t.schedule} fixes in advance; use schedule=constant or "
            "max_rollbacks=0"
        )
    check_range("benchmark.devices", cfg.benchmark.devices, num_range(1, 64))
    if not cfg.benchmark.memory_scales:
        raise ConfigError("benchmark.memory_scales: expected at least one multiple of "
                          "benchmark.memory_examples, e.g. [1, 4, 16]")
    if t.clipnorm is not None and t.global_clipnorm is not None:
        raise ConfigError("train.clipnorm and train.global_clipnorm: set at most one of them")
    if t.schedule == "piecewise":
        if len(t.piecewise_epochs) != len(t.piecewise_factors) or not t.piecewise_epochs:
            raise ConfigError(
                "train.piecewise_epochs and train.piecewise_factors: expected non-empty "
                "lists of the same length"
            )
        if sorted(t.piecewise_epochs) != t.piecewise_epochs or t.piecewise_epochs[0] < 1:
            raise ConfigError(
                f"train.piecewise_epochs: expected increasing epochs ≥ 1, got {t.piecewise_epochs}"
            )
    if t.schedule == "cosine" and t.warmup_epochs >= t.epochs:
        raise ConfigError(
            f"train.warmup_epochs: expected fewer than train.epochs ({t.epochs}), "
            f"got {t.warmup_epochs}"
        )
    if cfg.model.name == "transformer" and cfg.model.width % cfg.model.num_heads:
        raise ConfigError(
            f"model.width: expected a multiple of model.num_heads ({cfg.model.num_heads}) "
            f"for the transformer, got {cfg.model.width}"
        )
    _validate_evaluation(cfg.data, cfg.train, cfg.evaluation)
    _validate_compression(cfg.compression)
    for key, name in (("export.name", cfg.export.name), ("run_name", cfg.run_name)):
        if name is not None and (name in (".", "..") or any(c in name for c in "/\\")):
            raise ConfigError(f"{key}: expected a plain name without slashes, got {name!r}")


def _validate_compression(c: CompressionConfig) -> None:
    """Rules of the compression section: M:N format, PQAT needs pruning, variants."""
    if c.m_by_n is not None:
        m, sep, n = c.m_by_n.partition(":")
        if not (sep and m.isdigit() and n.isdigit() and 0 < int(m) < int(n)):
            raise ConfigError(
                "compression.m_by_n: expected 'M:N' with 0 < M < N (e.g. '2:4'), "
                f"got {c.m_by_n!r}"
            )
    if c.pqat and not c.prune:
        raise ConfigError("compression.pqat: needs compression.prune=true (it fine-tunes the "
                          "pruned model)")
    if len(set(c.variants)) != len(c.variants):
        raise ConfigError(f"compression.variants: expected no repeats, got {c.variants}")
    if not (c.variants or c.qat or c.pqat):
        raise ConfigError("compression.variants: expected at least one variant (or qat/pqat)")
    if c.end_step != -1 and c.end_step <= c.begin_step:
        raise ConfigError(
            f"compression.end_step: expected -1 or a step after begin_step ({c.begin_step}), "
            f"got {c.end_step}"
        )


def _validate_evaluation(d: DataConfig, t: TrainConfig, e: EvaluationConfig) -> None:
    """Rules of cross-validation, the data-size curve and the profiler range."""
    for key, folds in (("train.cv_folds", t.cv_folds), ("data.cv_folds", d.cv_folds)):
        if folds == 1:
            raise ConfigError(f"{key}: expected 0 (off) or at least 2 folds, got 1")
    if d.cv_folds and d.cv_fold >= d.cv_folds:
        raise ConfigError(
            f"data.cv_fold: expected a fold id below data.cv_folds ({d.cv_folds}), "
            f"got {d.cv_fold}"
        )
    if d.name == "tfrecord" and (d.cv_folds or d.train_fraction < 1 or t.cv_folds):
        raise ConfigError(
            "data.name=tfrecord: its split is fixed in the files; cross-validation and "
            "data.train_fraction need an in-memory data set"
        )
    if len(e.profile_batches) not in (0, 2) or e.profile_batches[:1] > e.profile_batches[1:]:
        raise ConfigError(
            "evaluation.profile_batches: expected [] (off) or [first, last] batch numbers "
            f"with first <= last, got {e.profile_batches}"
        )
