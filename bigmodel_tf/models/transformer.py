"""Transformer encoder classifier: ViT-style patches for images, feature tokens for tables.

Tokens: images are cut into ``patch_size`` patches by a Conv2D with kernel = stride =
patch size (the image size must be divisible by it) and reshaped to a sequence; tabular
rows become one token per feature (value -> shared Dense(width)). A learned embedding
table is then added: the position embedding for patches (layer ``position_embedding``),
the per-feature embedding for features (layer ``feature_embedding``). ``model.depth``
pre-norm encoder blocks follow (LayerNorm -> MultiHeadAttention -> residual, LayerNorm ->
MLP of width * mlp_ratio -> residual), then a final LayerNorm, token average pooling and
the head. ``model.normalization`` does not apply: transformers always use LayerNorm.

With ``model.share_weights`` (ALBERT), one block's layer objects are reused at every depth,
so parameters do not grow with depth.

Attention maps: the attention layers are named ``encoder_{i}_attention`` (i = 0..depth-1)
or ``encoder_shared_attention`` when shared. A shared layer is called once per block, so
its ``.output`` is ambiguous; use ``attention_model(model, model_cfg, spec)`` instead, which
returns a model mapping the same input to a list of per-block attention scores, each of
shape (batch, num_heads, tokens, tokens), with ``model``'s weights.
"""

from __future__ import annotations

import types

import keras as keras3

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.models import common
from bigmodel_tf.models.layers import custom_layers

LN_EPSILON = 1e-6  # ViT's value; the Keras default (1e-3) differs and is too coarse here


def _tokens(x, mc: ModelConfig, spec: DataSpec, keras):
    """Turn the normalized input into a (tokens, width) sequence with its learned embedding."""
    if spec.kind == "image":
        height, width, patch = spec.input_shape[0], spec.input_shape[1], mc.patch_size
        if height % patch or width % patch:
            raise ConfigError(
                f"model.patch_size: expected a divisor of the image size {height}x{width}, "
                f"got {patch}"
            )
        x = keras.layers.Conv2D(
            mc.width,
            patch,
            strides=patch,
            kernel_regularizer=common.regularizer(mc, keras),
            name="patch_embedding",
        )(x)
        tokens = (height // patch) * (width // patch)
        x = keras.layers.Reshape((tokens, mc.width), name="patches")(x)
        embedding = "position_embedding"
    else:
        x = keras.layers.Reshape((spec.input_shape[0], 1), name="feature_tokens")(x)
        x = keras.layers.Dense(
            mc.width, kernel_regularizer=common.regularizer(mc, keras), name="feature_projection"
        )(x)
        embedding = "feature_embedding"
    return custom_layers(keras).LearnedEmbedding(name=embedding)(x)


def _block_layers(mc: ModelConfig, keras, tag: str) -> types.SimpleNamespace:
    """Create the layers of one pre-norm encoder block, named ``encoder_{tag}_*``."""
    layers, name = keras.layers, f"encoder_{tag}"
    return types.SimpleNamespace(
        norm1=layers.LayerNormalization(epsilon=LN_EPSILON, name=f"{name}_norm1"),
        attention=layers.MultiHeadAttention(
            mc.num_heads,
            key_dim=mc.width // mc.num_heads,
            dropout=mc.dropout,
            kernel_regularizer=common.regularizer(mc, keras),
            name=f"{name}_attention",
        ),
        add1=layers.Add(name=f"{name}_add1"),
        norm2=layers.LayerNormalization(epsilon=LN_EPSILON, name=f"{name}_norm2"),
        mlp1=layers.Dense(
            mc.width * mc.mlp_ratio,
            activation=mc.activation,
            kernel_regularizer=common.regularizer(mc, keras),
            name=f"{name}_mlp1",
        ),
        mlp2=layers.Dense(
            mc.width, kernel_regularizer=common.regularizer(mc, keras), name=f"{name}_mlp2"
        ),
        dropout=layers.Dropout(mc.dropout, name=f"{name}_dropout"),
        add2=layers.Add(name=f"{name}_add2"),
    )


def _apply_block(x, block: types.SimpleNamespace):
    """Run one encoder block on ``x``; return the new sequence and its attention scores."""
    h = block.norm1(x)
    h, scores = block.attention(h, h, return_attention_scores=True)
    x = block.add1([x, block.dropout(h)])
    h = block.mlp2(block.mlp1(block.norm2(x)))
    return block.add2([x, block.dropout(h)]), scores


def _build(mc: ModelConfig, spec: DataSpec, keras, with_scores: bool):
    """The transformer; with ``with_scores`` its outputs are [probabilities, *scores]."""
    inputs, x = common.model_inputs(spec, keras)
    x = _tokens(x, mc, spec, keras)
    shared = _block_layers(mc, keras, "shared") if mc.share_weights else None
    all_scores = []
    for i in range(mc.depth):
        x, scores = _apply_block(x, shared or _block_layers(mc, keras, str(i)))
        all_scores.append(scores)
    x = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="encoder_norm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="global_pool")(x)
    model = common.classifier(inputs, x, mc, spec, keras, dropout=mc.dropout)
    if with_scores:
        return keras.Model(inputs, [model.output, *all_scores], name=f"{mc.name}_scores")
    return model


def build(model_cfg: ModelConfig, spec: DataSpec, keras=keras3):
    """Build the uncompiled transformer classifier for ``spec`` with the ``keras`` given."""
    return _build(model_cfg, spec, keras, with_scores=False)


def attention_model(model, model_cfg: ModelConfig, spec: DataSpec, keras=keras3):
    """A model from ``model``'s input to its per-block attention scores (for interpretation).

    Rebuilds the same architecture with the scores as extra outputs and copies ``model``'s
    weights into it, which works for shared and unshared blocks alike.
    """
    if model_cfg.depth == 0:
        raise ConfigError("model.depth: attention maps need at least one encoder block, got 0")
    probe = _build(model_cfg, spec, keras, with_scores=True)
    probe.set_weights(model.get_weights())
    return keras.Model(probe.input, probe.outputs[1:], name="attention_maps")
