"""Shared test set-up: quiet TensorFlow logs and a fixed seed for every test."""

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seed Python, NumPy and Keras (TensorFlow) so every test is reproducible."""
    random.seed(0)
    np.random.seed(0)
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")
