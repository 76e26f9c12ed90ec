"""Custom layers of the zoo, defined once per Keras module and registered for safe loading.

The same builder runs on Keras 3 and on ``tf_keras`` (the TF-MOT bridge), whose base
``Layer`` classes and serialization registries differ. ``custom_layers(keras)`` therefore
defines the classes for the given module (cached, so each is defined and registered once)
and registers them under the package ``bigmodel_tf``. Keras 3's classes are registered when
this module is imported, so ``import bigmodel_tf.models`` is enough before
``keras.models.load_model(path, safe_mode=True)``.
"""

from __future__ import annotations

import functools
import types

import keras as keras3
import tensorflow as tf


def _register(keras):
    """The ``register_keras_serializable`` decorator of this Keras module, package bigmodel_tf."""
    if keras is keras3:
        return keras.saving.register_keras_serializable(package="bigmodel_tf")
    return keras.utils.register_keras_serializable(package="bigmodel_tf")


@functools.cache
def custom_layers(keras) -> types.SimpleNamespace:
    """Define (once) and register the zoo's custom layer classes for ``keras``."""

    @_register(keras)
    class LearnedEmbedding(keras.layers.Layer):
        """Adds a trainable (tokens, width) table to a token sequence (one row per position).

        Used as the ViT position embedding and as the per-feature embedding of tabular
        feature tokens; the table is cast to the input dtype so mixed precision works.
        """

        def __init__(self, stddev: float = 0.02, **kwargs):
            """Store the init scale; the table's shape comes from the input at build time."""
            super().__init__(**kwargs)
            self.stddev = stddev

        def build(self, input_shape):
            """Create the (tokens, width) table from the input's last two dimensions."""
            self.embeddings = self.add_weight(
                name="embeddings",
                shape=(int(input_shape[-2]), int(input_shape[-1])),
                initializer=keras.initializers.TruncatedNormal(stddev=self.stddev),
                trainable=True,
            )
            super().build(input_shape)

        def call(self, inputs):
            """Return ``inputs + table``, broadcast over the batch."""
            return inputs + tf.cast(self.embeddings, inputs.dtype)

        def compute_output_shape(self, input_shape):
            """Adding the table keeps the shape."""
            return input_shape

        def get_config(self):
            """Serializable config (the table's values are weights, not config)."""
            return {**super().get_config(), "stddev": self.stddev}

    return types.SimpleNamespace(LearnedEmbedding=LearnedEmbedding)


custom_layers(keras3)
