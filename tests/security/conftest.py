"""Shared fixtures of the security tests: a small trained-looking model and its file."""

import keras
import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.models import build_model


@pytest.fixture(scope="module")
def iris_cfg():
    """A small tabular experiment: an MLP on iris."""
    return load_config(overrides=["data.name=iris", "model.name=mlp", "model.width=8"])


@pytest.fixture(scope="module")
def iris_model(iris_cfg):
    """(model, spec, x_test) of the zoo's MLP on iris (untrained weights suffice)."""
    splits = load_splits(iris_cfg)
    model = build_model(iris_cfg.model, splits.spec)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy())
    return model, splits.spec, np.asarray(splits.test.x)
