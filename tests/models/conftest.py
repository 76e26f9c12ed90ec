"""Fixtures of the model-zoo tests: small data specs, configs and raw random inputs."""

import keras
import numpy as np
import pytest

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec


@pytest.fixture
def image_spec():
    """Digits-like spec: 8x8x1 raw images in 0..16, per-channel train statistics."""
    return DataSpec("image", [8, 8, 1], ["a", "b", "c"], mean=[4.9], variance=[36.0])


@pytest.fixture
def tabular_spec():
    """Six raw features with per-feature statistics (one of them constant: variance 0)."""
    return DataSpec(
        "tabular",
        [6],
        ["no", "yes"],
        feature_names=[f"f{i}" for i in range(6)],
        mean=[0.0, 10.0, -3.0, 100.0, 0.5, 2.0],
        variance=[1.0, 4.0, 9.0, 400.0, 0.25, 0.0],
    )


@pytest.fixture
def make_cfg():
    """Factory: the default model section with some fields overridden (what builders take)."""
    return ModelConfig


@pytest.fixture
def raw_inputs():
    """Factory: a batch of raw (unnormalized) inputs shaped like ``spec``'s examples."""

    def make(spec, batch=5):
        rng = np.random.default_rng(0)
        mean = np.asarray(spec.mean, dtype="float32")
        scale = np.sqrt(np.asarray(spec.variance, dtype="float32")) + 1.0
        shape = (batch, *spec.input_shape)
        return (mean + scale * rng.standard_normal(shape)).astype("float32")

    return make


@pytest.fixture
def bfloat16_policy():
    """Run a test under the mixed_bfloat16 global policy and always restore float32."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")
