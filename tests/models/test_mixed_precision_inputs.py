"""Raw inputs beyond float16's range stay finite under mixed precision (normalized in
float32 before the first float16 layer)."""

import keras
import numpy as np
import pytest

from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.models import build_model


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_large_raw_inputs_give_finite_probabilities(make_cfg, policy):
    spec = DataSpec("tabular", [3], ["a", "b"], feature_names=["x", "y", "z"],
                    mean=[1e5, 0.0, 0.0], variance=[1e8, 1.0, 1.0])
    keras.mixed_precision.set_global_policy(policy)
    model = build_model(make_cfg(name="mlp", width=8, depth=1), spec)
    probabilities = model.predict(np.array([[1.2e5, 0.5, -0.5]], np.float32), verbose=0)
    assert np.isfinite(probabilities).all()
    assert model.get_layer("input_normalization").compute_dtype == "float32"
