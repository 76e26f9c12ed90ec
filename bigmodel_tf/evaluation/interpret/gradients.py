"""Integrated gradients for image models (Sundararajan et al., 2017), with tf.GradientTape.

The attribution of each input pixel to the predicted class is (x - baseline) times the
average gradient of that class's probability along the straight path from a baseline
image (all pixels at the data's lowest raw value: black) to x, approximated with the
trapezoidal rule over ``evaluation.ig_steps`` steps. Attributions sum to about
f(x) - f(baseline) (completeness). Reads the Keras 3 model (TF backend) and raw images;
returns attribution arrays and a figure of the maps overlaid on the inputs.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from bigmodel_tf.plots import new_figure


def integrated_gradients(
    model, images: np.ndarray, targets: np.ndarray, baseline: float = 0.0, steps: int = 32
) -> np.ndarray:
    """Attributions with the images' shape: one map per image for its ``targets`` class."""
    alphas = tf.reshape(tf.linspace(0.0, 1.0, steps + 1), (-1, 1, 1, 1))
    attributions = []
    for image, target in zip(images.astype(np.float32), targets, strict=True):
        start = tf.fill(image.shape, tf.constant(baseline, tf.float32))
        path = start[None] + alphas * (tf.constant(image) - start)[None]  # [steps+1, h, w, c]
        with tf.GradientTape() as tape:
            tape.watch(path)
            probability = model(path, training=False)[:, int(target)]
        grads = tape.gradient(probability, path)
        average = tf.reduce_mean((grads[:-1] + grads[1:]) / 2.0, axis=0)  # trapezoidal rule
        attributions.append(((image - start) * average).numpy())
    return np.stack(attributions)


def pick_examples(y: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` examples, cycling over the classes (first unused of each)."""
    by_class = [list(np.flatnonzero(y == k)) for k in np.unique(y)]
    picked: list[int] = []
    while len(picked) < min(count, len(y)):
        for members in by_class:
            if members and len(picked) < count:
                picked.append(int(members.pop(0)))
    return np.array(picked)


def display_image(image: np.ndarray, value_range: list[float] | None) -> np.ndarray:
    """An image scaled to [0, 1] for display (gray images lose their channel axis)."""
    low, high = value_range or (float(image.min()), float(image.max()))
    scaled = np.clip((image - low) / max(high - low, 1e-12), 0.0, 1.0)
    return scaled[..., 0] if scaled.shape[-1] == 1 else scaled[..., :3]


def draw_outline(ax, shown: np.ndarray, color: str) -> None:
    """Draw the input's outline (a contour at mid brightness) over a map on ``ax``."""
    gray = shown if shown.ndim == 2 else shown.mean(axis=-1)
    if gray.max() > gray.min():
        ax.contour(gray, levels=[0.5 * (gray.min() + gray.max())], colors=color,
                   linewidths=0.8)


def attribution_figure(
    images: np.ndarray, attributions: np.ndarray, titles: list[str],
    value_range: list[float] | None,
) -> Figure:
    """Inputs (top row) and their attribution maps (bottom row, the input's outline on top)."""
    n = len(images)
    fig = new_figure(max(6.0, 1.7 * n + 1.6), 4.6)
    axes = np.asarray(fig.subplots(2, n, squeeze=False))
    maps = attributions.sum(axis=-1)  # over channels
    limit = float(np.abs(maps).max()) or 1.0
    heat = None
    for i in range(n):
        shown = display_image(images[i], value_range)
        axes[0, i].imshow(shown, cmap="gray" if shown.ndim == 2 else None)
        axes[0, i].set_title(titles[i], fontsize=8)
        heat = axes[1, i].imshow(maps[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
        draw_outline(axes[1, i], shown, "black")  # to see where the map lies
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("attribution")
    fig.colorbar(heat, ax=axes.ravel().tolist(), shrink=0.7, label="attribution")
    fig.suptitle("Integrated gradients: pixels that raised (red) or lowered (blue) the "
                 "predicted class's probability", fontsize=10)
    return fig
