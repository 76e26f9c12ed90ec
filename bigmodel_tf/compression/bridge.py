"""The Keras 3 <-> tf_keras bridge that TF-MOT needs (docs/architecture.md).

TF-MOT 0.8.1 works only on ``tf_keras`` models, the project trains Keras 3 models. Every
zoo builder takes the Keras module as a parameter, so the same architecture is rebuilt in
the other Keras and the weights are copied with ``get_weights``/``set_weights`` (same
layer order and names in both). Models are rebuilt under the float32 policy, so a run
trained in mixed precision is compressed and converted through a float32 copy. Each copy
is checked: both models must give the same probabilities on the same inputs.

Importing TF-MOT has two side effects this module undoes: it sets
``TF_USE_LEGACY_KERAS=1`` in the environment (inherited by every later subprocess), and
if ``tf.keras`` was not resolved yet it resolves it to tf_keras for the whole process.
"""

from __future__ import annotations

import contextlib
import functools
import os

import keras
import numpy as np
import tensorflow as tf
import tf_keras

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import CompressionError
from bigmodel_tf.models import build_model

# Largest difference of probabilities allowed between a model and its copy: a copy is
# exact up to float32 kernel differences between the two Keras implementations (~1e-6);
# a model computing in bfloat16/float16 differs from its float32 copy by its rounding.
COPY_TOLERANCE = 1e-4
MIXED_PRECISION_TOLERANCE = 0.1


@functools.cache
def tfmot():
    """Import ``tensorflow_model_optimization`` without switching Keras for anyone else."""
    tf.keras.__name__  # noqa: B018 - resolve tf.keras to Keras 3 before TF-MOT's import
    saved = os.environ.get("TF_USE_LEGACY_KERAS")
    try:
        import tensorflow_model_optimization
    finally:
        if saved is None:
            os.environ.pop("TF_USE_LEGACY_KERAS", None)
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = saved
    return tensorflow_model_optimization


@contextlib.contextmanager
def float32_policy():
    """Build Keras 3 layers under the float32 policy, then restore the global policy."""
    saved = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(saved)


def check_same_outputs(a, b, x: np.ndarray, what: str) -> None:
    """Raise CompressionError when two models' probabilities on ``x`` differ."""
    pa = np.asarray(a(x, training=False), dtype=np.float32)
    pb = np.asarray(b(x, training=False), dtype=np.float32)
    diff = float(np.max(np.abs(pa - pb)))
    mixed = any(layer.compute_dtype != "float32" for layer in (*a.layers, *b.layers))
    tolerance = MIXED_PRECISION_TOLERANCE if mixed else COPY_TOLERANCE
    if not diff <= tolerance:
        raise CompressionError(
            f"{what}: the copied model's probabilities differ by {diff:.2g} (more than "
            f"{tolerance:g}); the builder of model.name does not build the same model in "
            "Keras 3 and tf_keras"
        )


def _copy(source, model_cfg: ModelConfig, spec: DataSpec, keras_module, x: np.ndarray, what):
    """Rebuild the ``model_cfg`` model in ``keras_module`` (float32) with ``source``'s weights."""
    with float32_policy():
        target = build_model(model_cfg, spec, keras=keras_module)
    weights = source.get_weights()
    if [w.shape for w in weights] != [w.shape for w in target.get_weights()]:
        raise CompressionError(
            f"{what}: the model does not match the run's config (model.* keys); compress "
            "the run with the config it was trained with"
        )
    target.set_weights(weights)
    check_same_outputs(source, target, x, what)
    return target


def float32_copy(model, model_cfg: ModelConfig, spec: DataSpec, x: np.ndarray) -> keras.Model:
    """A float32 Keras 3 copy of ``model`` (a Keras 3 or tf_keras model of ``model_cfg``)."""
    return _copy(model, model_cfg, spec, keras, x, "copy to a float32 Keras 3 model")


def to_tf_keras(model: keras.Model, model_cfg: ModelConfig, spec: DataSpec, x: np.ndarray):
    """The same model rebuilt in tf_keras (float32) with ``model``'s weights, for TF-MOT."""
    return _copy(model, model_cfg, spec, tf_keras, x, "copy to tf_keras")
