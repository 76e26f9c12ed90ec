"""Image augmentation for the train split with Keras 3 preprocessing layers (data.augment).

The layers run inside tf.data on whole batches (each image gets its own random transform)
and are seeded from the experiment's seed. They work on raw pixels, so RandomContrast is
told the data set's pixel range (digits 0..16, image files 0..255) to clip to.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from bigmodel_tf.config import AugmentConfig, DataConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ConfigError


def _active_options(a: AugmentConfig) -> list[str]:
    """Names of the augment options that are switched on."""
    switched = {
        "flip": a.flip != "none", "rotation": a.rotation > 0, "zoom": a.zoom > 0,
        "translation": a.translation > 0, "contrast": a.contrast > 0,
    }
    return [name for name, on in switched.items() if on]


def augmenter(
    data: DataConfig, spec: DataSpec, seed: int
) -> Callable[[tf.Tensor], tf.Tensor] | None:
    """A batch -> batch augmentation function, or None when no option is switched on."""
    a = data.augment
    active = _active_options(a)
    if not active:
        return None
    if spec.kind != "image":
        raise ConfigError(
            f"data.augment.{active[0]}: image augmentation does not apply to tabular data "
            f"(data.name={data.name}); set it to 0 (or flip=none)"
        )
    low, high = spec.value_range or [0.0, 255.0]
    candidates = {
        "flip": lambda: keras.layers.RandomFlip(a.flip, seed=seed),
        "rotation": lambda: keras.layers.RandomRotation(a.rotation, seed=seed + 1),
        "zoom": lambda: keras.layers.RandomZoom(a.zoom, seed=seed + 2),
        "translation": lambda: keras.layers.RandomTranslation(
            a.translation, a.translation, seed=seed + 3
        ),
        "contrast": lambda: keras.layers.RandomContrast(
            a.contrast, value_range=(low, high), seed=seed + 4
        ),
    }
    layers = [candidates[name]() for name in active]

    def augment(images: tf.Tensor) -> tf.Tensor:
        for layer in layers:
            images = layer(images, training=True)
        return images

    return augment
