"""Multilayer perceptron: ``model.depth`` Dense blocks on flattened inputs (image or tabular).

Each block is Dense(width) -> normalization -> activation -> dropout, with the L1/L2 kernel
regularizer; depth 0 is a linear softmax-regression model, a useful baseline.
"""

from __future__ import annotations

import keras as keras3

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.models import common


def build(model_cfg: ModelConfig, spec: DataSpec, keras=keras3):
    """Build the uncompiled MLP classifier for ``spec`` with the ``keras`` module given."""
    mc = model_cfg
    inputs, x = common.model_inputs(spec, keras)
    if spec.kind == "image":
        x = keras.layers.Flatten(name="flatten")(x)
    for i in range(mc.depth):
        x = keras.layers.Dense(
            mc.width,
            use_bias=common.uses_bias(mc),
            kernel_regularizer=common.regularizer(mc, keras),
            name=f"dense_{i}",
        )(x)
        x = common.norm_act(x, mc, keras, name=f"dense_{i}")
        if mc.dropout > 0:
            x = keras.layers.Dropout(mc.dropout, name=f"dense_{i}_dropout")(x)
    return common.classifier(inputs, x, mc, spec, keras)
