"""Small convolutional network, the default model (scikit-learn digits, 8x8x1 images).

``model.depth`` blocks of Conv2D(kernel_size) -> normalization -> activation -> 2x2 max
pooling. Pooling happens only while the feature map stays at least 2x2, and the channel
count doubles after each pooling (classic "halve the map, double the channels"), so deep
settings on small images do not blow up the width. Then global average pooling, dropout and
the classifier head. On digits the defaults cost ~1.2 MFLOPs per example (fast on 2 CPUs).
"""

from __future__ import annotations

import keras as keras3

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.models import common


def build(model_cfg: ModelConfig, spec: DataSpec, keras=keras3):
    """Build the uncompiled CNN classifier for image ``spec`` with the ``keras`` module given."""
    mc = model_cfg
    common.require_image(mc, spec)
    inputs, x = common.model_inputs(spec, keras)
    height, width = spec.input_shape[0], spec.input_shape[1]
    filters = mc.width
    for i in range(mc.depth):
        x = keras.layers.Conv2D(
            filters,
            mc.kernel_size,
            padding="same",
            use_bias=common.uses_bias(mc),
            kernel_regularizer=common.regularizer(mc, keras),
            name=f"conv_{i}",
        )(x)
        x = common.norm_act(x, mc, keras, name=f"conv_{i}")
        if min(height, width) >= 4:
            x = keras.layers.MaxPooling2D(2, name=f"conv_{i}_pool")(x)
            height, width, filters = height // 2, width // 2, filters * 2
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    return common.classifier(inputs, x, mc, spec, keras, dropout=mc.dropout)
