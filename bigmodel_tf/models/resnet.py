"""Small ResNet of basic residual blocks (two convolutions and an ``Add`` shortcut).

A stem convolution, then ``model.depth`` basic blocks spread as evenly as possible over up
to three stages (ResNet-20 style). Each later stage doubles the channels and, while the
feature map stays at least 2x2, halves it with a stride-2 first block; where the block's
output shape differs from its input, the shortcut is a 1x1 projection convolution.
"""

from __future__ import annotations

import keras as keras3

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.models import common


def _conv(x, filters: int, kernel_size: int, strides: int, mc: ModelConfig, keras, name: str):
    """A same-padded Conv2D with the configured regularizer (no bias before batch norm)."""
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=common.uses_bias(mc),
        kernel_regularizer=common.regularizer(mc, keras),
        name=name,
    )(x)


def _basic_block(x, filters: int, strides: int, mc: ModelConfig, keras, name: str):
    """conv-norm-act-conv-norm plus a shortcut (projection when the shape changes), then act."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv(x, filters, 1, strides, mc, keras, name=f"{name}_proj")
        shortcut = common.normalize(shortcut, mc, keras, name=f"{name}_proj")
    x = _conv(x, filters, mc.kernel_size, strides, mc, keras, name=f"{name}_conv1")
    x = common.norm_act(x, mc, keras, name=f"{name}_conv1")
    x = _conv(x, filters, mc.kernel_size, 1, mc, keras, name=f"{name}_conv2")
    x = common.normalize(x, mc, keras, name=f"{name}_conv2")
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.Activation(mc.activation, name=f"{name}_out")(x)


def stage_sizes(depth: int) -> list[int]:
    """Blocks per stage: ``depth`` spread over min(depth, 3) stages, earlier stages first."""
    stages = min(depth, 3)
    return [depth // stages + (s < depth % stages) for s in range(stages)] if stages else []


def build(model_cfg: ModelConfig, spec: DataSpec, keras=keras3):
    """Build the uncompiled ResNet classifier for image ``spec`` with the ``keras`` given."""
    mc = model_cfg
    common.require_image(mc, spec)
    inputs, x = common.model_inputs(spec, keras)
    x = _conv(x, mc.width, mc.kernel_size, 1, mc, keras, name="stem")
    x = common.norm_act(x, mc, keras, name="stem")
    size = min(spec.input_shape[0], spec.input_shape[1])
    for s, blocks in enumerate(stage_sizes(mc.depth)):
        for b in range(blocks):
            strides = 2 if s > 0 and b == 0 and size >= 4 else 1
            size //= strides
            x = _basic_block(x, mc.width * 2**s, strides, mc, keras, name=f"stage{s}_block{b}")
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    return common.classifier(inputs, x, mc, spec, keras, dropout=mc.dropout)
