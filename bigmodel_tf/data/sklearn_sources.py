"""Small data sets embedded in scikit-learn (no download): digits, breast_cancer, wine, iris
and diabetes.

digits is the project's default data set: 1,797 8x8 gray images with raw pixel values
0..16, returned as [n, 8, 8, 1] images. The others are tabular; diabetes (442 patients,
10 features, disease progression after one year) is a regression data set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import datasets

from bigmodel_tf.config import DataConfig
from bigmodel_tf.data.raw import RawData


def load_digits(data_cfg: DataConfig, seed: int) -> RawData:
    """scikit-learn's digits as [n, 8, 8, 1] float32 images with pixel values 0..16."""
    bunch = datasets.load_digits()
    return RawData(
        x=bunch.images.astype(np.float32)[..., np.newaxis],
        y=bunch.target.astype(np.int32),
        kind="image",
        class_names=[str(t) for t in bunch.target_names],
        value_range=[0.0, 16.0],
    )


def _tabular(load: Callable) -> Callable[[DataConfig, int], RawData]:
    """A loader for one of scikit-learn's embedded tabular data sets."""

    def loader(data_cfg: DataConfig, seed: int) -> RawData:
        bunch = load()
        return RawData(
            x=bunch.data.astype(np.float32),
            y=bunch.target.astype(np.int32),
            kind="tabular",
            class_names=[str(t) for t in bunch.target_names],
            feature_names=[str(f) for f in bunch.feature_names],
        )

    loader.__doc__ = f"scikit-learn's {load.__name__} as [n, features] float32 rows."
    return loader


def load_diabetes(data_cfg: DataConfig, seed: int) -> RawData:
    """scikit-learn's diabetes as [n, 10] float32 rows with float32 regression targets."""
    bunch = datasets.load_diabetes()
    return RawData(
        x=bunch.data.astype(np.float32),
        y=bunch.target.astype(np.float32),
        kind="tabular",
        class_names=[],
        feature_names=[str(f) for f in bunch.feature_names],
        task="regression",
    )


LOADERS = {
    "digits": load_digits,
    "breast_cancer": _tabular(datasets.load_breast_cancer),
    "wine": _tabular(datasets.load_wine),
    "iris": _tabular(datasets.load_iris),
    "diabetes": load_diabetes,
}
