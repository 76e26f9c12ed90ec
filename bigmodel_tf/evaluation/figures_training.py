"""Figures about training: learning curves, data-size curve, baselines, cross-validation.

Each function takes plain numbers (history columns, metrics dicts) and returns a matplotlib
Figure with labelled axes, a title and a legend.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bigmodel_tf.plots import COLORS, new_figure

SCORE_LABELS = {"accuracy": "accuracy", "f1_macro": "macro F1", "roc_auc": "ROC-AUC"}


def _label(metric: str) -> str:
    """How a metric key reads on an axis: its short label, or the key in words."""
    return SCORE_LABELS.get(metric, metric.upper() if len(metric) <= 4 else
                            metric.replace("_", " "))


def _axis_label(metric: str) -> str:
    """A metric's label with a capital first letter, for an axis or a panel title."""
    label = _label(metric)
    return label[:1].upper() + label[1:]


def _score_limits(values: list[float], top_room: float = 1.0) -> tuple[float, float]:
    """Y limits: [0, 1]-scores from a little below the lowest to 1 (plus ``top_room``);
    other scores (errors in the label's units) from 0 with the same room above."""
    if all(0.0 <= v <= 1.0 for v in values):
        return max(0.0, min(values) - 0.1), 1.0 + 0.02 * top_room
    return 0.0, max(values) * (1.0 + 0.06 * top_room)


def learning_curves_figure(history: dict[str, list[float]], diagnosis: str,
                           metric: str = "accuracy", loss_label: str = "cross-entropy") -> Figure:
    """Loss and ``metric`` per epoch, train vs val, with the best val-loss epoch marked."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    lr = history.get("learning_rate")
    varying_lr = lr is not None and np.nanmax(lr) > np.nanmin(lr)
    fig = new_figure(11.0 if varying_lr else 9.5, 4.2)
    axes = fig.subplots(1, 3 if varying_lr else 2)
    best = int(np.nanargmin(history["val_loss"])) + 1 if "val_loss" in history else None
    for ax, key, title in ((axes[0], "loss", f"Loss ({loss_label})"),
                           (axes[1], metric, _axis_label(metric))):
        for prefix, split in (("", "train"), ("val_", "val")):
            if prefix + key in history:
                ax.plot(epochs, history[prefix + key], marker="o", markersize=3,
                        color=COLORS[split], label=split)
        if best:
            ax.axvline(best, color="grey", linestyle=":", label=f"best val loss (epoch {best})")
        ax.set_xlabel("Epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(title)
        ax.set_title(f"{title} per epoch")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if varying_lr:
        axes[2].plot(epochs, lr, color="#9467bd", label="learning rate")
        axes[2].set_yscale("log")
        axes[2].set_xlabel("Epoch")
        axes[2].set_ylabel("Learning rate")
        axes[2].set_title("Learning rate per epoch")
        axes[2].legend(fontsize=8)
        axes[2].grid(alpha=0.3)
    fig.suptitle(f"Learning curves (diagnosis: {diagnosis})")
    return fig


def data_size_figure(points: list[dict], metric: str = "accuracy") -> Figure:
    """Train and val ``metric`` against the number of training examples used."""
    fig = new_figure(6.4, 4.6)
    ax = fig.add_subplot()
    sizes = [p["train_examples"] for p in points]
    for split in ("train", "val", "test"):
        ax.plot(sizes, [p[split][metric] for p in points], marker="o", color=COLORS[split],
                label=f"{split} {metric}")
    for p in points:
        ax.annotate(f"{p['fraction']:.0%}", (p["train_examples"], p["val"][metric]),
                    textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("Training examples (log scale; labels: fraction of the train split)")
    ax.set_ylabel(_axis_label(metric))
    ax.set_title("Learning curve by data size")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig


def baselines_figure(rows: list[dict], metrics: tuple[str, ...] = ("accuracy", "f1_macro",
                                                                    "roc_auc")) -> Figure:
    """Test ``metrics`` of the network beside the scikit-learn baselines, as grouped bars."""
    metrics = [m for m in metrics if all(r["test"].get(m) is not None for r in rows)]
    fig = new_figure(7.4, 4.4)
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    width = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        values = [r["test"][metric] for r in rows]
        bars = ax.bar(x + (i - (len(metrics) - 1) / 2) * width, values, width=width,
                      label=_label(metric))
        ax.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
    ax.set_xticks(x, [r["name"] for r in rows], rotation=15, ha="right", fontsize=9)
    ax.set_xlabel("Model")
    ax.set_ylabel("Score on the test split")
    values = [r["test"][m] for r in rows for m in metrics]
    low, high = _score_limits(values, top_room=6)  # room for the legend above the bars
    ax.set_ylim(low, high)
    limit = 1.0 if high <= 1.12 + 1e-9 else high
    ax.set_yticks([t for t in ax.get_yticks() if low <= t <= limit + 1e-9])
    ax.set_ylim(low, high)
    ax.set_title("The network vs scikit-learn baselines (test split)")
    ax.legend(fontsize=8, loc="upper center", ncol=len(metrics))
    ax.grid(alpha=0.3, axis="y")
    return fig


def cv_figure(folds: list[dict], metric: str = "accuracy") -> Figure:
    """Per-fold val and test ``metric`` with the mean ± std across folds."""
    fig = new_figure(6.4, 4.4)
    ax = fig.add_subplot()
    x = np.arange(1, len(folds) + 1)
    for split, offset in (("val", -0.15), ("test", 0.15)):
        values = np.array([f[split][metric] for f in folds])
        ax.bar(x + offset, values, width=0.3, color=COLORS[split], label=f"{split} per fold")
        ax.axhline(values.mean(), color=COLORS[split], linestyle="--",
                   label=f"{split} mean {values.mean():.3f} ± {values.std(ddof=1):.3f}")
    ax.set_xticks(x, [f"fold {i}" for i in x - 1])
    ax.set_xlabel("Fold (its val split is the held-out fold)")
    ax.set_ylabel(_axis_label(metric))
    ax.set_ylim(*_score_limits([f[s][metric] for f in folds for s in ("val", "test")]))
    ax.set_title(f"{len(folds)}-fold cross-validation")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="y")
    return fig
