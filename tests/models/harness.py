"""The zoo's shared model check (keras-hub's ``run_backbone_test`` style), one function.

``check_zoo_model(model_cfg, spec, x, tmp_path)`` builds the model in Keras 3 and in
tf_keras (what the compression bridge does), copies the weights, checks the same outputs
on ``x``, then saves the Keras 3 model and reloads it through the project's safe loading
path (``bigmodel_tf.loading``), checking the same outputs again.
"""

from pathlib import Path

import keras
import numpy as np
import tf_keras

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.loading import load_keras_model
from bigmodel_tf.models import build_model


def perturbed(weights):
    """Weights scaled and shifted a little, so zero biases and BN statistics are non-trivial."""
    rng = np.random.default_rng(1)
    return [w * rng.uniform(0.9, 1.1, w.shape) + rng.uniform(0.0, 0.05, w.shape) for w in weights]


def outputs(model, x: np.ndarray) -> np.ndarray:
    """The model's inference outputs on ``x`` as a NumPy array."""
    return np.asarray(model(x, training=False))


def check_zoo_model(model_cfg: ModelConfig, spec: DataSpec, x: np.ndarray, tmp_path: Path):
    """Keras 3 and tf_keras builds agree with copied weights; the safe reload agrees too."""
    k3 = build_model(model_cfg, spec, keras=keras)
    k2 = build_model(model_cfg, spec, keras=tf_keras)
    assert isinstance(k3, keras.Model) and isinstance(k2, tf_keras.Model)
    assert [w.shape for w in k2.get_weights()] == [w.shape for w in k3.get_weights()]
    k3.set_weights(perturbed(k3.get_weights()))
    k2.set_weights(k3.get_weights())
    expected = outputs(k3, x)
    np.testing.assert_allclose(outputs(k2, x), expected, atol=1e-5)
    path = tmp_path / "model.keras"
    k3.save(path)
    reloaded = load_keras_model(path, verify=False)  # no manifest here; safe mode as always
    np.testing.assert_allclose(outputs(reloaded, x), expected, atol=1e-6)
