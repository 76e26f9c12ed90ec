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

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.errors import DataError


def _fold(y: np.ndarray, train: np.ndarray, val: np.ndarray, cfg: ExperimentConfig):
    """Train and val indices of fold ``data.cv_fold`` of ``data.cv_folds`` over train+val."""
    pool = np.sort(np.concatenate([train, val]))
    folds = StratifiedKFold(cfg.data.cv_folds, shuffle=True, random_state=cfg.seed)
    try:
        train_pos, val_pos = list(folds.split(pool, y[pool]))[cfg.data.cv_fold]
    except ValueError as exc:  # a class with fewer examples than folds
        raise DataError(
            f"data.cv_folds={cfg.data.cv_folds}: cannot split {len(pool)} train+val examples "
            f"into stratified folds ({str(exc).splitlines()[0]})"
        ) from None
    return pool[train_pos], pool[val_pos]


def _subset(y: np.ndarray, train: np.ndarray, cfg: ExperimentConfig) -> np.ndarray:
    """A seeded stratified ``data.train_fraction`` of the train indices."""
    try:
        kept, _ = train_test_split(
            train, train_size=cfg.data.train_fraction, stratify=y[train],
            random_state=cfg.seed,
        )
    except ValueError as exc:  # fewer kept examples than classes
        raise DataError(
            f"data.train_fraction={cfg.data.train_fraction:g}: cannot keep a stratified "
            f"subset of {len(train)} train examples ({str(exc).splitlines()[0]})"
        ) from None
    return np.sort(kept)


def select_train_val(
    y: np.ndarray, train: np.ndarray, val: np.ndarray, cfg: ExperimentConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Train and val indices after the configured fold and train fraction (else unchanged)."""
    if cfg.data.cv_folds > 1:
        train, val = _fold(y, train, val, cfg)
    if cfg.data.train_fraction < 1.0:
        train = _subset(y, train, cfg)
    return train, val
