"""Shared fixtures of the export tests: data specs, tiny Keras 3 models, raw inputs.

Seeding comes from the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from bigmodel_tf.data.spec import DataSpec


@pytest.fixture(scope="session")
def image_spec() -> DataSpec:
    """An 8x8 grayscale spec like scikit-learn's digits (raw values 0..16)."""
    return DataSpec(
        kind="image",
        input_shape=[8, 8, 1],
        class_names=[str(i) for i in range(10)],
        mean=[4.9],
        variance=[36.0],
    )


@pytest.fixture(scope="session")
def tabular_spec() -> DataSpec:
    """A 5-feature, 3-class tabular spec."""
    return DataSpec(
        kind="tabular",
        input_shape=[5],
        class_names=["a", "b", "c"],
        feature_names=[f"f{i}" for i in range(5)],
        mean=[1.0, -2.0, 0.5, 3.0, 0.0],
        variance=[4.0, 1.0, 0.25, 9.0, 1.0],
    )


def tiny_model(spec: DataSpec) -> keras.Model:
    """A functional model: Normalization (spec statistics) -> Dense softmax "probabilities"."""
    inputs = keras.Input(spec.input_shape, name=spec.input_name)
    x = keras.layers.Normalization(mean=spec.mean, variance=spec.variance)(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(8, activation="relu")(x)
    outputs = keras.layers.Dense(
        spec.num_classes, activation="softmax", dtype="float32", name="probabilities"
    )(x)
    return keras.Model(inputs, outputs)


def raw_inputs(spec: DataSpec, n: int) -> np.ndarray:
    """Random raw (unnormalized) float32 examples for ``spec``."""
    if spec.kind == "image":
        return np.random.randint(0, 17, size=(n, *spec.input_shape)).astype(np.float32)
    scale = np.sqrt(spec.variance)
    return (spec.mean + scale * np.random.randn(n, *spec.input_shape)).astype(np.float32)


@pytest.fixture(scope="session")
def make_model():
    """The ``tiny_model`` builder, for tests that need a fresh model for a spec."""
    return tiny_model


@pytest.fixture(scope="session")
def make_inputs():
    """The ``raw_inputs`` generator, for tests that need raw examples for a spec."""
    return raw_inputs
