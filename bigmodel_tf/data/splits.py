"""Stratified train/val/test splits and the DataSpec with train-only statistics.

Classification splits are stratified by class, regression splits by quantile bins of the
target (so every split covers its whole range).

``load_splits`` is called by several stages (training, evaluation, export, tuning), so its
result is cached in-process, keyed on the config keys that change the data (the keys whose
declared effect is ``data``, bigmodel_tf.config.effects). The arrays
are read-only: a stage cannot change what another stage sees.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from bigmodel_tf.config import DataConfig, ExperimentConfig, from_dict, keys_with, select, to_dict
from bigmodel_tf.data import folds, salvage, tfrecord_io
from bigmodel_tf.data.raw import RawData
from bigmodel_tf.data.registry import load_raw
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import DataError

log = logging.getLogger("bigmodel_tf.data")
_MIN_PER_CLASS = 3  # one example for each of train, val and test
# regression: up to this many quantile bins of the target, each of at least _PER_BIN examples
_TARGET_BINS = 10
_PER_BIN = 20
_STATS_CHUNK = 1 << 20  # rows per chunk when computing variance (bounds temporary memory)


@dataclass(frozen=True)
class SplitArrays:
    """One split in memory: raw (unnormalized) float32 features, and int32 class ids or
    float32 regression targets."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Splits:
    """The data spec and the train, val and test splits."""

    spec: DataSpec
    train: SplitArrays
    val: SplitArrays
    test: SplitArrays


def _strata(raw: RawData, name: str) -> np.ndarray | None:
    """What splits are stratified by: the class ids, or the target's quantile bin (None:
    too few regression examples to bin); ``name`` (data.name) is cited in errors."""
    if raw.task == "regression":
        bins = min(_TARGET_BINS, len(raw.y) // _PER_BIN)
        if bins < 2:
            return None
        edges = np.quantile(raw.y, np.linspace(0, 1, bins + 1)[1:-1])
        return np.searchsorted(edges, raw.y, side="right")
    counts = np.bincount(raw.y, minlength=len(raw.class_names))
    for label, count in zip(raw.class_names, counts, strict=True):
        if count < _MIN_PER_CLASS:
            raise DataError(
                f"data.name={name}: class {label!r} has {count} example(s); a "
                f"stratified train/val/test split needs at least {_MIN_PER_CLASS} per class"
            )
    return raw.y


def _split_indices(raw: RawData, d: DataConfig, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified train/val/test indices seeded by ``seed`` (val and test fractions of the
    whole), then ``d``'s fold and train fraction."""
    strata = _strata(raw, d.name)
    try:
        rest, test = train_test_split(
            np.arange(len(raw.y)), test_size=d.test_fraction, stratify=strata,
            random_state=seed,
        )
        train, val = train_test_split(
            rest, test_size=d.val_fraction / (1.0 - d.test_fraction),
            stratify=None if strata is None else strata[rest], random_state=seed,
        )
    except ValueError as exc:  # e.g. fewer val/test examples than classes
        raise DataError(
            f"data.name={d.name}: cannot split {len(raw.y)} examples stratified "
            f"({str(exc).splitlines()[0]})"
        ) from None
    if strata is None:
        strata = np.zeros(len(raw.y), np.int64)  # one stratum: plain seeded shuffles
    train, val = folds.select_train_val(strata, train, val, d, seed)  # evaluation-stage hook
    return train, val, test


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance over all axes but the last (per channel or per feature).

    A feature that is constant in the train split gets variance 1.0 (it is only centered),
    so it neither divides by zero nor blows up a val/test value that differs from it.
    """
    flat = x.reshape(-1, x.shape[-1])
    mean = flat.mean(axis=0, dtype=np.float64)
    squares = sum(
        ((flat[i : i + _STATS_CHUNK] - mean) ** 2).sum(axis=0)
        for i in range(0, len(flat), _STATS_CHUNK)
    )
    variance = squares / max(len(flat), 1)
    constant = flat.max(axis=0) == flat.min(axis=0)
    return mean, np.where(constant, 1.0, np.maximum(variance, 1e-12))


def _label_stats(raw: RawData, train: SplitArrays) -> dict:
    """The spec's label fields: train class counts, or the regression target's mean and
    standard deviation (1.0 for a constant target)."""
    if raw.task == "regression":
        std = float(np.std(train.y, dtype=np.float64))
        return {"label_mean": float(np.mean(train.y, dtype=np.float64)),
                "label_std": std if std > 0 else 1.0}
    counts = np.bincount(train.y, minlength=len(raw.class_names))
    return {"class_counts": {n: int(c) for n, c in zip(raw.class_names, counts, strict=True)}}


def _spec(raw: RawData, train: SplitArrays) -> DataSpec:
    """The DataSpec of a data set, with statistics of its train split."""
    mean, variance = _moments(train.x)
    return DataSpec(
        kind=raw.kind,
        input_shape=list(raw.x.shape[1:]),
        class_names=list(raw.class_names),
        feature_names=raw.feature_names,
        mean=mean.tolist(),
        variance=variance.tolist(),
        categories=raw.categories,
        value_range=raw.value_range,
        task=raw.task,
        train_examples=len(train.y),
        **_label_stats(raw, train),
    )


def _read_only(x: np.ndarray, y: np.ndarray) -> SplitArrays:
    """SplitArrays whose arrays cannot be written through (float32 labels stay float32,
    class ids are int32)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32 if y.dtype.kind == "f" else np.int32)
    x.flags.writeable = False
    y.flags.writeable = False
    return SplitArrays(x, y)


@functools.lru_cache(maxsize=4)
def _load(key: str) -> Splits:
    """Load and split the data set described by a cache key (see load_splits)."""
    cfg = from_dict(json.loads(key)["config"])
    if cfg.data.name == "tfrecord":
        spec, arrays = (
            salvage.read_splits_skipping(cfg.data.path, cfg.data.max_corrupt_fraction)
            if cfg.data.skip_corrupt else tfrecord_io.read_splits(cfg.data.path)
        )
        return Splits(spec, **{s: _read_only(*arrays[s]) for s in tfrecord_io.SPLIT_NAMES})
    raw = load_raw(cfg.data, cfg.seed, cfg.task.name)
    parts = [_read_only(raw.x[i], raw.y[i]) for i in _split_indices(raw, cfg.data, cfg.seed)]
    log.info(
        "data.name=%s: %d examples of shape %s, %s; train/val/test %s",
        cfg.data.name, len(raw.y), list(raw.x.shape[1:]),
        f"{len(raw.class_names)} classes" if raw.task == "classification" else raw.task,
        "/".join(str(len(p.y)) for p in parts),
    )
    return Splits(_spec(raw, parts[0]), *parts)


def source_modified(path: str | None) -> int | None:
    """Modification time (ns) of a file/folder source, so a changed source is reloaded."""
    return os.stat(path).st_mtime_ns if path and Path(path).exists() else None


def _key(cfg: ExperimentConfig, task: str) -> str:
    """The cache key of cfg's data with task.name ``task``."""
    tree = to_dict(cfg)
    tree["task"]["name"] = task
    return json.dumps(
        {"config": select(tree, keys_with("data")), "modified": source_modified(cfg.data.path)},
        sort_keys=True,
    )


_INFERRED: dict[str, str] = {}  # cache key with task.name=auto -> the task it resolved to


def load_splits(cfg: ExperimentConfig) -> Splits:
    """Load cfg.data.name, split it stratified and seeded, and fit train-only statistics.

    Cached in-process (task.name=auto and the task it resolves to share one entry); each
    call returns its own copy of the spec, and read-only arrays.
    """
    key = auto_key = _key(cfg, "auto")
    if cfg.task.name != "auto" and _INFERRED.get(auto_key) != cfg.task.name:
        key = _key(cfg, cfg.task.name)
    splits = _load(key)
    if key == auto_key:
        _INFERRED[auto_key] = splits.spec.task
    return dataclasses.replace(splits, spec=copy.deepcopy(splits.spec))
