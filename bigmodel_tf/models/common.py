"""Pieces every zoo builder shares: raw input + normalization, regularizer, norm layer, head.

Builders receive the Keras module as a parameter (Keras 3 for training, ``tf_keras`` for
TF-MOT compression; docs/architecture.md), so everything here uses only layers that exist
in both and creates them through ``keras``. Layer order and names are identical in both,
which is what makes ``get_weights``/``set_weights`` copies between the two valid.
"""

from __future__ import annotations

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.tasks import get_task
from bigmodel_tf.tasks.base import regularizer  # noqa: F401 (builders call common.regularizer)

# Batch-norm moving-average momentum (Keras' default 0.99, keras.applications' 0.999): small
# data sets give few steps per epoch, and slow moving statistics leave inference-mode
# predictions poor for many epochs (MobileNetV2 at 0.999 stays at chance on digits).
BN_MOMENTUM = 0.9


def model_inputs(spec: DataSpec, keras):
    """The raw float32 input and its normalized tensor (train-split statistics as constants).

    Constants (not ``adapt``) keep the Normalization layer weight-free, so weight lists match
    across Keras versions; a spec without statistics (data already scaled) gets no layer.
    """
    inputs = keras.Input(shape=tuple(spec.input_shape), name=spec.input_name, dtype="float32")
    if spec.mean is None or spec.variance is None:
        return inputs, inputs
    # float32 whatever the mixed-precision policy: raw inputs beyond float16's range
    # (65504) would otherwise be inf, and NaN after the subtraction of the mean.
    norm = keras.layers.Normalization(
        axis=-1, mean=spec.mean, variance=spec.variance, name="input_normalization",
        dtype="float32",
    )
    return inputs, norm(inputs)


def normalize(x, mc: ModelConfig, keras, name: str):
    """Apply the configured normalization (batch|layer|none, over the last axis)."""
    if mc.normalization == "batch":
        return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    if mc.normalization == "layer":
        return keras.layers.LayerNormalization(name=f"{name}_ln")(x)
    return x


def norm_act(x, mc: ModelConfig, keras, name: str):
    """Apply the configured normalization, then the configured activation."""
    x = normalize(x, mc, keras, name)
    return keras.layers.Activation(mc.activation, name=f"{name}_act")(x)


def uses_bias(mc: ModelConfig) -> bool:
    """Whether a conv/dense layer needs a bias: not when batch norm's beta follows it."""
    return mc.normalization != "batch"


def classifier(inputs, x, model_cfg: ModelConfig, spec: DataSpec, keras, dropout: float = 0.0):
    """Close a builder: optional dropout, then the head of the data's task (float32).

    Classification ends in Dense logits and a softmax ``probabilities``, regression in a
    ``prediction`` in the label's units (bigmodel_tf/tasks/).
    """
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = get_task(spec.task).head(x, spec, model_cfg, keras)
    return keras.Model(inputs, outputs, name=model_cfg.name)


def require_image(model_cfg: ModelConfig, spec: DataSpec) -> None:
    """Raise ConfigError when an image-only architecture is given tabular data."""
    if spec.kind != "image":
        raise ConfigError(
            f"model.name={model_cfg.name} needs image data; use mlp or transformer"
        )
