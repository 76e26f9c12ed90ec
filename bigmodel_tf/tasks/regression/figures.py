"""Regression figures: the label distribution, predicted vs true values, and residuals.

Each ``*_figure`` function takes true values and predictions (or their summaries) and
returns a matplotlib Figure with labelled axes, a title and a legend; ``figures`` draws all
of them for a run (the task's ``figures``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bigmodel_tf.plots import COLORS, new_figure
from bigmodel_tf.tasks.regression.scoring import predictions

MAX_POINTS = 5000  # scatter points drawn per split (a seeded sample beyond that)


def _sample(y: np.ndarray, pred: np.ndarray, seed: int = 0):
    """At most MAX_POINTS (true, predicted) pairs, a seeded sample when there are more."""
    if len(y) <= MAX_POINTS:
        return y, pred
    keep = np.random.default_rng(seed).choice(len(y), MAX_POINTS, replace=False)
    return y[keep], pred[keep]


def label_distribution_figure(labels: dict[str, np.ndarray]) -> Figure:
    """Histograms of the true values of every split, on shared bins."""
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    everything = np.concatenate([np.asarray(y, dtype=np.float64) for y in labels.values()])
    edges = np.histogram_bin_edges(everything, bins=30)
    for split, y in labels.items():
        ax.hist(y, bins=edges, histtype="step", linewidth=1.5, color=COLORS.get(split),
                label=f"{split} ({len(y)})", density=True)
    ax.set_xlabel("Label value")
    ax.set_ylabel("Density")
    ax.set_title("Label distribution per split")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def predicted_vs_true_figure(y: np.ndarray, pred: np.ndarray, split: str,
                             r2: float | None) -> Figure:
    """Predictions against true values, with the identity line of a perfect model."""
    fig = new_figure(5.6, 5.2)
    ax = fig.add_subplot()
    shown_y, shown_pred = _sample(y, pred)
    ax.scatter(shown_y, shown_pred, s=9, alpha=0.5, color=COLORS.get(split, "#1f77b4"),
               label=f"{split} examples")
    low, high = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([low, high], [low, high], linestyle="--", color="grey", label="perfect prediction")
    ax.set_xlabel("True value")
    ax.set_ylabel("Predicted value")
    score = f" (R² {r2:.3f})" if r2 is not None else ""
    ax.set_title(f"Predicted vs true, {split} split{score}")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def residuals_figure(y: np.ndarray, pred: np.ndarray, split: str) -> Figure:
    """Residuals (true − predicted) against the prediction, beside their histogram."""
    fig = new_figure(9.5, 4.2)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    residuals = y - pred
    shown_y, shown_pred = _sample(y, pred)
    left.scatter(shown_pred, shown_y - shown_pred, s=9, alpha=0.5,
                 color=COLORS.get(split, "#1f77b4"), label=f"{split} examples")
    left.axhline(0.0, color="grey", linestyle="--", label="no error")
    left.set_xlabel("Predicted value")
    left.set_ylabel("Residual (true − predicted)")
    left.set_title(f"Residuals, {split} split")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    right.hist(residuals, bins=30, color="#7f7f7f", edgecolor="black", label="residuals")
    right.axvline(0.0, color="grey", linestyle="--")
    right.set_xlabel("Residual (true − predicted)")
    right.set_ylabel("Examples")
    right.set_title(f"mean {residuals.mean():+.3g}, std {residuals.std():.3g}")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    return fig


def figures(labels: dict, outputs: dict, metrics: dict, spec=None,
            eval_cfg=None) -> dict[str, Figure]:
    """The label distribution (every split), predicted vs true and residuals (test)."""
    y = np.asarray(labels["test"], dtype=np.float64)
    pred = predictions(outputs["test"], len(y))
    return {
        "label_distribution": label_distribution_figure(labels),
        "predicted_vs_true": predicted_vs_true_figure(y, pred, "test", metrics["test"]["r2"]),
        "residuals": residuals_figure(y, pred, "test"),
    }
