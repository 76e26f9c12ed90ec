"""MobileNetV2 backbone from ``keras.applications`` (random init, no downloads) with our head.

The backbone is built on our normalized input tensor (``input_tensor=``), so its layers are
inlined into one flat functional model rather than nested as a sub-model; TF-MOT pruning
and per-layer weight copies need that. MobileNetV2 requires images of at least 32x32, so
smaller images are first upsampled with a ``Resizing`` layer. With ``weights=None`` every
``model.alpha`` in the config range (0.1-2.0) and every channel count is accepted (only
ImageNet weights restrict alpha to 0.35-1.4 and channels to 3), so neither is adapted.
Its batch norms get the zoo's momentum (``common.BN_MOMENTUM``) instead of 0.999.
"""

from __future__ import annotations

import warnings

import keras as keras3

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.models import common

MIN_SIZE = 32  # pixels; keras.applications.MobileNetV2 rejects smaller inputs


def build(model_cfg: ModelConfig, spec: DataSpec, keras=keras3):
    """Build the uncompiled MobileNetV2 classifier for image ``spec`` with ``keras`` given."""
    common.require_image(model_cfg, spec)
    inputs, x = common.model_inputs(spec, keras)
    height, width, channels = spec.input_shape
    if height < MIN_SIZE or width < MIN_SIZE:
        height, width = max(height, MIN_SIZE), max(width, MIN_SIZE)
        # training=False: Keras 3's image preprocessing layers default to training=True and
        # pass it on to later layers, so a plain model(x) ran batch norm in training mode.
        x = keras.layers.Resizing(height, width, name="resize")(x, training=False)
    with warnings.catch_warnings():
        # Harmless for random init: "usually expects 1 or 3 input channels".
        warnings.filterwarnings("ignore", message="This model usually expects")
        backbone = keras.applications.MobileNetV2(
            input_shape=(height, width, channels),
            input_tensor=x,
            alpha=model_cfg.alpha,
            include_top=False,
            weights=None,
            pooling="avg",
        )
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = common.BN_MOMENTUM  # the backbone's 0.999 is for ImageNet-long runs
    return common.classifier(inputs, backbone.output, model_cfg, spec, keras,
                             dropout=model_cfg.dropout)
