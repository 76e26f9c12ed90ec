"""Stratified train/val/test splits and the DataSpec with train-only statistics.

Classification splits are stratified by class, regression splits by quantile bins of the
target (so every split covers its whole range).

Nothing but the labels is needed to split: image folders are listed and split by their
files (no image is decoded to split them), TFRecord folders are split already (their
spec.json holds the statistics), CSV files are scanned for their labels and split by row
number (their rows are streamed, csv_stream.py), and the small sources that live in memory
(scikit-learn's sets, generated data) are split as arrays. The normalization statistics come
from one streaming pass over the train split (data/stats.py).

``load_splits`` is called by several stages (training, evaluation, export, tuning), so its
result is cached in-process, keyed on the config keys that change the data (the keys whose
declared effect is ``data``, bigmodel_tf.config.effects). In-memory arrays are read-only:
a stage cannot change what another stage sees.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import logging
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from bigmodel_tf import remote
from bigmodel_tf.config import DataConfig, ExperimentConfig, from_dict, keys_with, select, to_dict
from bigmodel_tf.data import csv_source, folds, image_dir, salvage, stats, tfrecord_io
from bigmodel_tf.data.registry import load_raw
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.data.split import ArraySplit, Split, StreamedSplit
from bigmodel_tf.data.stream_errors import stream_errors
from bigmodel_tf.errors import DataError

log = logging.getLogger("bigmodel_tf.data")
_MIN_PER_CLASS = 3  # one example for each of train, val and test
# regression: up to this many quantile bins of the target, each of at least _PER_BIN examples
_TARGET_BINS = 10
_PER_BIN = 20


@dataclass(frozen=True)
class Splits:
    """The data spec and the train, val and test splits (data/split.py)."""

    spec: DataSpec
    train: Split
    val: Split
    test: Split


@dataclass(frozen=True)
class _Listing:
    """What a source says about its examples before any feature is read: their labels,
    the task and the class names, and the split holding all of them."""

    whole: Split  # an ArraySplit, a StreamedSplit or a CsvSplit
    task: str
    class_names: list[str]
    name: str  # data.name, for messages
    facts: dict  # the spec's fields that describe the features (kind, names, ...)

def _strata(listing: _Listing) -> np.ndarray | None:
    """What splits are stratified by: the class ids, or the target's quantile bin (None:
    too few regression examples to bin)."""
    y, name = listing.whole.y, listing.name
    if listing.task == "regression":
        bins = min(_TARGET_BINS, len(y) // _PER_BIN)
        if bins < 2:
            return None
        edges = np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1])
        return np.searchsorted(edges, y, side="right")
    counts = np.bincount(y, minlength=len(listing.class_names))
    for label, count in zip(listing.class_names, counts, strict=True):
        if count < _MIN_PER_CLASS:
            raise DataError(
                f"data.name={name}: class {label!r} has {count} example(s); a "
                f"stratified train/val/test split needs at least {_MIN_PER_CLASS} per class"
            )
    return y


def _split_indices(listing: _Listing, d: DataConfig, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified train/val/test indices seeded by ``seed`` (val and test fractions of the
    whole), then ``d``'s fold and train fraction (a pass over the labels alone)."""
    strata = _strata(listing)
    examples = listing.whole.size
    try:
        rest, test = train_test_split(
            np.arange(examples), test_size=d.test_fraction, stratify=strata,
            random_state=seed,
        )
        train, val = train_test_split(
            rest, test_size=d.val_fraction / (1.0 - d.test_fraction),
            stratify=None if strata is None else strata[rest], random_state=seed,
        )
    except ValueError as exc:  # e.g. fewer val/test examples than classes
        raise DataError(
            f"data.name={d.name}: cannot split {examples} examples stratified "
            f"({str(exc).splitlines()[0]})"
        ) from None
    if strata is None:
        strata = np.zeros(examples, np.int64)  # one stratum: plain seeded shuffles
    train, val = folds.select_train_val(strata, train, val, d, seed)  # evaluation-stage hook
    return train, val, test


def _label_stats(listing: _Listing, train: Split) -> dict:
    """The spec's label fields: train class counts, or the regression target's mean and
    standard deviation (1.0 for a constant target)."""
    if listing.task == "regression":
        std = float(np.std(train.y, dtype=np.float64))
        return {"label_mean": float(np.mean(train.y, dtype=np.float64)),
                "label_std": std if std > 0 else 1.0}
    counts = np.bincount(train.y, minlength=len(listing.class_names))
    return {"class_counts": {n: int(c) for n, c in
                             zip(listing.class_names, counts, strict=True)}}


def _spec(listing: _Listing, parts: list[Split], statistics: bool) -> DataSpec:
    """The DataSpec of a data set, with statistics of its train split (one streaming pass;
    streamed val and test splits that nothing checked yet are read once too, so that a
    file that cannot be read fails here, before training; a CSV scan checks every cell
    itself). Without ``statistics`` (only a streamed
    source can skip them) mean and variance are None and nothing is read."""
    moments = stats.moments(parts[0]) if statistics else None
    for part in parts[1:] if statistics else ():
        if not (part.in_memory or part.checked):
            stats.read_through(part)
    return DataSpec(
        input_shape=list(listing.whole.example_shape),
        class_names=list(listing.class_names),
        mean=moments.mean.tolist() if moments else None,
        variance=moments.variance.tolist() if moments else None,
        task=listing.task,
        train_examples=parts[0].size,
        **listing.facts,
        **_label_stats(listing, parts[0]),
    )


def _listing(cfg: ExperimentConfig) -> _Listing:
    """The examples of cfg's source: image files listed and CSV files scanned (nothing
    decoded or encoded), every other source loaded in memory."""
    d, name = cfg.data, cfg.data.name
    if name == "image_dir":
        paths, labels, names = image_dir.image_files(d)
        height, width = d.image_size
        shape = (height, width, d.channels)
        reader = image_dir.image_reader(d.channels, height, width)
        whole = StreamedSplit(tuple(paths), shape, reader, len(labels), labels,
                              file_per_example=True)
        return _Listing(whole, "classification", names, name,
                        {"kind": "image", "value_range": [0.0, 255.0]})
    if name == "csv":
        table = csv_source.load_csv(d, cfg.task.name)
        return _Listing(table.whole, table.task, table.class_names, name,
                        {"kind": "tabular", "feature_names": table.feature_names,
                         "categories": table.categories})
    raw = load_raw(d, cfg.seed, cfg.task.name)
    return _Listing(ArraySplit(raw.x, raw.y), raw.task, raw.class_names, name,
                    {"kind": raw.kind, "feature_names": raw.feature_names,
                     "categories": raw.categories, "value_range": raw.value_range})


def check_filesystem(path: str | None) -> None:
    """ConfigError unless TensorFlow has a filesystem for a URL's scheme (``s3://`` and
    ``hdfs://`` need their plug-in), RunDirError when it cannot be reached."""
    if remote.is_url(path):
        remote.exists_with_plugin(path, "data.path")


@functools.lru_cache(maxsize=4)
def _load(key: str, statistics: bool = True) -> Splits:
    """Load and split the data set described by a cache key (see load_splits)."""
    cfg = from_dict(json.loads(key)["config"])
    check_filesystem(cfg.data.path)
    if cfg.data.name == "tfrecord":
        if cfg.data.skip_corrupt:
            spec, arrays = salvage.read_splits_skipping(cfg.data.path,
                                                       cfg.data.max_corrupt_fraction)
            return Splits(spec, **{s: ArraySplit(*arrays[s]) for s in tfrecord_io.SPLIT_NAMES})
        spec, parts = tfrecord_io.record_splits(cfg.data.path)
        return Splits(spec, **parts)
    listing = _listing(cfg)
    parts = [listing.whole.subset(i) for i in _split_indices(listing, cfg.data, cfg.seed)]
    statistics = statistics or listing.whole.in_memory  # computed without TensorFlow
    with stream_errors(cfg.data):
        spec = _spec(listing, parts, statistics)
    log.info(
        "data.name=%s: %d examples of shape %s, %s; train/val/test %s",
        cfg.data.name, listing.whole.size, spec.input_shape,
        f"{len(listing.class_names)} classes" if listing.task == "classification"
        else listing.task, "/".join(str(p.size) for p in parts),
    )
    return Splits(spec, *parts)


def source_modified(path: str | None) -> int | None:
    """Modification time (ns) of a file/folder source, so a changed source is reloaded."""
    check_filesystem(path)
    if not path or not tf.io.gfile.exists(path):
        return None
    return tf.io.gfile.stat(path).mtime_nsec


def _key(cfg: ExperimentConfig, task: str) -> str:
    """The cache key of cfg's data with task.name ``task``."""
    tree = to_dict(cfg)
    tree["task"]["name"] = task
    return json.dumps(
        {"config": select(tree, keys_with("data")), "modified": source_modified(cfg.data.path)},
        sort_keys=True,
    )


_INFERRED: dict[str, str] = {}  # cache key with task.name=auto -> the task it resolved to


def load_splits(cfg: ExperimentConfig, statistics: bool = True) -> Splits:
    """Load cfg.data.name, split it stratified and seeded, and fit train-only statistics.

    Cached in-process (task.name=auto and the task it resolves to share one entry); each
    call returns its own copy of the spec, and read-only arrays. ``statistics=False``:
    what is known before a pass over the data (a streamed image folder's spec then has no
    mean and variance), so that TensorFlow's runtime is not started before the training
    stage chooses its strategy (logical CPUs and collectives are set up at its start).
    """
    key = auto_key = _key(cfg, "auto")
    if cfg.task.name != "auto" and _INFERRED.get(auto_key) != cfg.task.name:
        key = _key(cfg, cfg.task.name)
    splits = _load(key, statistics)
    if key == auto_key:
        _INFERRED[auto_key] = splits.spec.task
    return dataclasses.replace(splits, spec=copy.deepcopy(splits.spec))
