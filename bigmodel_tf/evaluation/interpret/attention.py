"""Attention maps of the transformer, per encoder layer and head.

Uses ``models.transformer.attention_model`` (the same weights, the per-block attention
scores as outputs, each [batch, heads, tokens, tokens]). For images the tokens are
patches: each head's map is the attention every patch *receives*, averaged over the query
patches, upsampled to the image, with the input's outline drawn over it (one figure per
example). For tabular
data the tokens are features: each head's token-to-token matrix, averaged over examples.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.evaluation.interpret.gradients import display_image, draw_outline
from bigmodel_tf.models.transformer import attention_model
from bigmodel_tf.plots import new_figure, short_label, tick_font_size


def attention_scores(model, m: ModelConfig, spec, x: np.ndarray) -> list[np.ndarray]:
    """Per-layer attention scores [examples, heads, tokens, tokens] of ``model`` (built from
    ``m`` and ``spec``) on ``x``."""
    probe = attention_model(model, m, spec)
    scores = probe.predict(x, batch_size=256, verbose=0)
    return [np.asarray(s) for s in (scores if isinstance(scores, list | tuple) else [scores])]


def received_attention(layer_scores: np.ndarray, grid: tuple[int, int], patch: int) -> np.ndarray:
    """[heads, h, w] maps: attention each patch receives (mean over queries), upsampled."""
    received = layer_scores.mean(axis=-2)  # [heads, tokens]
    maps = received.reshape(len(received), *grid)
    return np.kron(maps, np.ones((1, patch, patch)))


def image_attention_figure(
    image: np.ndarray, scores: list[np.ndarray], patch: int, title: str,
    value_range: list[float] | None,
) -> Figure:
    """One example: the input, then each layer's (row) head maps (columns) over the image."""
    heads = scores[0].shape[0]
    grid = (image.shape[0] // patch, image.shape[1] // patch)
    shown = display_image(image, value_range)
    cmap = "gray" if shown.ndim == 2 else None
    fig = new_figure(1.9 * (heads + 1) + 0.8, 1.9 * len(scores) + 0.9)
    axes = np.asarray(fig.subplots(len(scores), heads + 1, squeeze=False))
    overlay = None
    for layer, layer_scores in enumerate(scores):
        maps = received_attention(layer_scores, grid, patch)
        axes[layer, 0].imshow(shown, cmap=cmap)
        axes[layer, 0].set_ylabel(f"layer {layer}")
        axes[layer, 0].set_title("input" if layer == 0 else "", fontsize=8)
        for head in range(heads):
            ax = axes[layer, head + 1]
            overlay = ax.imshow(maps[head], cmap="inferno", vmin=0.0)
            draw_outline(ax, shown, "cyan")  # the input's outline over the map
            if layer == 0:
                ax.set_title(f"head {head}", fontsize=8)
        for ax in axes[layer]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(overlay, ax=axes[:, 1:].ravel().tolist(), shrink=0.8,
                 label="attention received (mean over query patches)")
    fig.suptitle(f"Transformer attention per layer and head — {title}", fontsize=10)
    return fig


def feature_attention_figure(scores: list[np.ndarray], feature_names: list[str]) -> Figure:
    """Token-to-token attention of every layer (rows) and head (columns), mean over examples."""
    heads = scores[0].shape[1]
    tokens = len(feature_names)
    panel = max(2.6, min(0.16 * tokens + 1.2, 5.0))
    fig = new_figure(panel * heads + 1.0, panel * len(scores) + 0.8)
    axes = np.asarray(fig.subplots(len(scores), heads, squeeze=False))
    labels = [short_label(f, 14) for f in feature_names]
    font = tick_font_size(tokens)
    image = None
    for layer, layer_scores in enumerate(scores):
        mean = layer_scores.mean(axis=0)  # [heads, tokens, tokens]
        for head in range(heads):
            ax = axes[layer, head]
            image = ax.imshow(mean[head], cmap="viridis", vmin=0.0)
            ax.set_title(f"layer {layer}, head {head}", fontsize=8)
            show = tokens <= 40
            ax.set_xticks(range(tokens) if show else [], labels if show else [], rotation=90,
                          fontsize=font)
            ax.set_yticks(range(tokens) if show else [], labels if show else [], fontsize=font)
            ax.set_xlabel("attended feature (key)", fontsize=8)
            ax.set_ylabel("attending feature (query)", fontsize=8)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
    fig.suptitle("Transformer attention between feature tokens (mean over examples)")
    return fig
