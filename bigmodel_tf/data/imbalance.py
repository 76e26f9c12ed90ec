"""Class-imbalance handling for the train split: class weights and resampling.

- ``class_weight=balanced``: per-example sample weights n / (classes * count[class])
  (scikit-learn's formula), added inside tf.data because Keras' class_weight
  is ignored or fails with some distributed inputs (docs/architecture.md, known traps).
- ``resample=oversample|undersample``: one shuffled, repeated tf.data stream per class,
  mixed with equal weights by ``sample_from_datasets``; an epoch holds classes * max count
  (oversample) or classes * min count (undersample) examples, so the expected class counts
  per epoch are equal.
- ``resample=smote``: imbalanced-learn's SMOTE on the train arrays, tabular data only
  (it interpolates between feature vectors, which makes no sense for image pixels).
Class counts before and after are logged on the ``bigmodel_tf.data`` logger.
"""

from __future__ import annotations

import logging

import numpy as np
import tensorflow as tf
from imblearn.over_sampling import SMOTE

from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ConfigError, DataError

log = logging.getLogger("bigmodel_tf.data")


def class_weights(class_weight: str, counts: np.ndarray) -> np.ndarray:
    """Weight of each class id given the train examples per class, float32: 'balanced'
    weights (data.imbalance.class_weight; scikit-learn's n / (classes * count)) or ones."""
    weights = np.ones(len(counts), dtype=np.float32)
    if class_weight == "balanced":
        present = counts > 0  # a class absent from train keeps weight 1 (never used)
        weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


def _counts(y: np.ndarray, spec: DataSpec) -> dict[str, int]:
    """Examples per class name."""
    counts = np.bincount(y, minlength=spec.num_classes)
    return {name: int(c) for name, c in zip(spec.class_names, counts, strict=True)}


def _smote(x: np.ndarray, y: np.ndarray, spec: DataSpec, seed: int) -> tf.data.Dataset:
    """SMOTE-balanced train examples as a shuffled example stream (tabular only)."""
    if spec.kind != "tabular":
        raise ConfigError(
            "data.imbalance.resample=smote: works on tabular data only (it interpolates "
            "feature vectors); for images use resample=oversample or class_weight=balanced"
        )
    smallest = int(np.bincount(y).min())
    if smallest < 2:
        raise DataError(
            "data.imbalance.resample=smote: needs at least 2 train examples per class, "
            f"found {smallest}"
        )
    # SMOTE interpolates towards one of k nearest same-class neighbours (default k=5).
    sampler = SMOTE(k_neighbors=min(5, smallest - 1), random_state=seed)
    x_new, y_new = sampler.fit_resample(x, y)
    log.info("train class counts after smote: %s", _counts(y_new, spec))
    ds = tf.data.Dataset.from_tensor_slices(
        (x_new.astype(np.float32), y_new.astype(np.int32))
    )
    return ds.shuffle(len(y_new), seed=seed, reshuffle_each_iteration=True)


def _balanced_stream(
    resample: str, x: np.ndarray, y: np.ndarray, spec: DataSpec, seed: int
) -> tf.data.Dataset:
    """Over- or undersampled examples: equal-weight sampling from per-class streams."""
    counts = np.bincount(y, minlength=spec.num_classes)
    present = [k for k in range(spec.num_classes) if counts[k]]  # an empty stream never ends
    per_class = [
        tf.data.Dataset.from_tensor_slices((x[y == k], y[y == k]))
        .shuffle(int(counts[k]), seed=seed + k, reshuffle_each_iteration=True)
        .repeat()
        for k in present
    ]
    over = resample == "oversample"
    per_epoch = int(counts[present].max() if over else counts[present].min())
    log.info(
        "train class counts after %s (expected per epoch): %s",
        resample,
        {spec.class_names[k]: per_epoch for k in present},
    )
    mixed = tf.data.Dataset.sample_from_datasets(
        per_class, weights=[1.0 / len(present)] * len(present), seed=seed,
        rerandomize_each_iteration=True,  # else every epoch repeats the same class sequence
    )
    return mixed.take(per_epoch * len(present))


def resampled_train(
    resample: str, x: np.ndarray, y: np.ndarray, spec: DataSpec, seed: int
) -> tf.data.Dataset:
    """The train split as a stream of (x, y) examples (one epoch), shuffled by ``seed`` and
    resampled by ``resample`` (data.imbalance.resample: oversample, undersample or smote)."""
    log.info("train class counts before %s: %s", resample, _counts(y, spec))
    if resample == "smote":
        return _smote(x, y, spec, seed)
    return _balanced_stream(resample, x, y, spec, seed)
