"""Re-splitting train/val for the evaluation stage: k-fold cross-validation and subsets.

``data.cv_folds = K`` (K > 1) pools the train and val indices and splits them into K
seeded stratified folds; fold ``data.cv_fold`` becomes the val split and the other folds the
train split. ``data.train_fraction < 1`` then keeps a seeded stratified fraction of the
train split (the learning curve by data size). The test split is never touched, so every
fold and every fraction is scored on the same test examples as the main run.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from bigmodel_tf.config import DataConfig
from bigmodel_tf.errors import DataError


def _fold(y: np.ndarray, train: np.ndarray, val: np.ndarray, data: DataConfig, seed: int):
    """Train and val indices of fold ``data.cv_fold`` of ``data.cv_folds`` over train+val,
    seeded by ``seed``."""
    pool = np.sort(np.concatenate([train, val]))
    folds = StratifiedKFold(data.cv_folds, shuffle=True, random_state=seed)
    try:
        train_pos, val_pos = list(folds.split(pool, y[pool]))[data.cv_fold]
    except ValueError as exc:  # a class with fewer examples than folds
        raise DataError(
            f"data.cv_folds={data.cv_folds}: cannot split {len(pool)} train+val examples "
            f"into stratified folds ({str(exc).splitlines()[0]})"
        ) from None
    return pool[train_pos], pool[val_pos]


def _subset(y: np.ndarray, train: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A stratified ``fraction`` (``data.train_fraction``) of the train indices, seeded by
    ``seed``."""
    try:
        kept, _ = train_test_split(
            train, train_size=fraction, stratify=y[train], random_state=seed,
        )
    except ValueError as exc:  # fewer kept examples than classes
        raise DataError(
            f"data.train_fraction={fraction:g}: cannot keep a stratified "
            f"subset of {len(train)} train examples ({str(exc).splitlines()[0]})"
        ) from None
    return np.sort(kept)


def select_train_val(
    y: np.ndarray, train: np.ndarray, val: np.ndarray, data: DataConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and val indices after ``data``'s fold and train fraction (else unchanged),
    seeded by ``seed``."""
    if data.cv_folds > 1:
        train, val = _fold(y, train, val, data, seed)
    if data.train_fraction < 1.0:
        train = _subset(y, train, data.train_fraction, seed)
    return train, val
