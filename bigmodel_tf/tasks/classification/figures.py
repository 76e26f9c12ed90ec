"""Classification figures: class balance, confusion matrix, ROC, precision–recall,
reliability and the decision threshold.

Each ``*_figure`` function takes true class ids and class probabilities (or numbers derived
from them) and returns a matplotlib Figure with labelled axes, a title and a legend;
``figures`` draws all of them for a run (the task's ``figures``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from bigmodel_tf.plots import COLORS, new_figure, short_label, tick_font_size
from bigmodel_tf.tasks.classification import threshold as th
from bigmodel_tf.tasks.classification.calibration import reliability_bins


def confusion_matrix_figure(matrix: list[list[int]], class_names: list[str], split: str) -> Figure:
    """Counts per (true, predicted) class, coloured by the fraction of the true class."""
    counts = np.asarray(matrix)
    rows = counts.sum(axis=1, keepdims=True)
    fraction = np.divide(counts, rows, out=np.zeros(counts.shape, float), where=rows > 0)
    n = len(class_names)
    size = max(4.5, min(0.55 * n + 2.5, 14))
    fig = new_figure(size + 1.2, size)
    ax = fig.add_subplot()
    image = ax.imshow(fraction, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, label="fraction of the true class (recall)")
    font = tick_font_size(n)
    if n <= 30:
        for (i, j), count in np.ndenumerate(counts):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=font,
                        color="white" if fraction[i, j] > 0.6 else "black")
    labels = [short_label(c) for c in class_names]
    ax.set_xticks(range(n), labels, rotation=45 if n > 4 else 0, ha="right" if n > 4 else
                  "center", fontsize=font)
    ax.set_yticks(range(n), labels, fontsize=font)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"Confusion matrix, {split} split\n{counts.sum()} examples, "
                 f"accuracy {accuracy:.3f}")
    return fig


def _one_vs_rest(y_true: np.ndarray, probs: np.ndarray, class_names: list[str], positive: int):
    """(name, binary truth, score) per curve: the positive class if binary, else every class."""
    if probs.shape[1] == 2:
        return [(class_names[positive], (y_true == positive).astype(int), probs[:, positive])]
    return [(name, (y_true == k).astype(int), probs[:, k]) for k, name in enumerate(class_names)
            if 0 < (y_true == k).sum() < len(y_true)]


def _curve_figure(title: str, labels: tuple[str, str], ylim: tuple[float, float],
                  legend_at: str, classes: int, draw) -> Figure:
    """A square-ish figure of rate curves: ``draw(ax)`` plots them, this frames them."""
    fig = new_figure(6.4, 5.2)
    ax = fig.add_subplot()
    draw(ax)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(*ylim)
    ax.legend(loc=legend_at, fontsize=tick_font_size(classes))
    ax.grid(alpha=0.3)
    return fig


def _kind(probs: np.ndarray) -> str:
    """Which curves a figure shows: the positive class's, or one per class."""
    return "positive class" if probs.shape[1] == 2 else "one-vs-rest per class"


def roc_figure(y_true: np.ndarray, probs: np.ndarray, class_names: list[str], split: str,
               positive: int = 1) -> Figure:
    """ROC curve of the positive class (binary) or one-vs-rest per class (multiclass)."""
    def draw(ax):
        for name, truth, score in _one_vs_rest(y_true, probs, class_names, positive):
            fpr, tpr, _ = skm.roc_curve(truth, score)
            ax.plot(fpr, tpr, linewidth=1.5,
                    label=f"{short_label(name)} (AUC {skm.auc(fpr, tpr):.3f})")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")

    return _curve_figure(f"ROC curve, {split} split ({_kind(probs)})",
                         ("False positive rate", "True positive rate (recall)"), (-0.01, 1.01),
                         "lower right", probs.shape[1], draw)


def pr_figure(y_true: np.ndarray, probs: np.ndarray, class_names: list[str], split: str,
              positive: int = 1) -> Figure:
    """Precision–recall curve (average precision) of the positive class or of every class."""
    def draw(ax):
        for name, truth, score in _one_vs_rest(y_true, probs, class_names, positive):
            precision, recall, _ = skm.precision_recall_curve(truth, score)
            ap = skm.average_precision_score(truth, score)
            ax.plot(recall, precision, linewidth=1.5, label=f"{short_label(name)} (AP {ap:.3f})")
        if probs.shape[1] == 2:
            rate = float((y_true == positive).mean())
            ax.axhline(rate, linestyle="--", color="grey", linewidth=1,
                       label=f"chance (positive rate {rate:.2f})")

    return _curve_figure(f"Precision–recall curve, {split} split ({_kind(probs)})",
                         ("Recall", "Precision"), (0.0, 1.02), "lower left", probs.shape[1],
                         draw)


def reliability_figure(bins: dict, ece: float, split: str) -> Figure:
    """Reliability diagram (accuracy vs confidence per bin) above a confidence histogram."""
    fig = new_figure(6.0, 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    edges, counts = bins["edges"], bins["counts"]
    centers, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    filled = counts > 0
    top.bar(centers[filled], bins["accuracy"][filled], width=width * 0.9, color="#1f77b4",
            edgecolor="black", label="accuracy in the bin")
    top.plot(bins["confidence"][filled], bins["accuracy"][filled], "o", color="#d62728",
             label="(mean confidence, accuracy)")
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    top.set_ylabel("Accuracy")
    top.set_ylim(0, 1.02)
    top.set_title(f"Reliability diagram, {split} split (ECE {ece:.3f})")
    top.legend(loc="upper left", fontsize=8, framealpha=0.95)
    top.grid(alpha=0.3)
    bottom.bar(centers, counts, width=width * 0.9, color="#7f7f7f", edgecolor="black",
               label="predictions")
    bottom.set_xlabel("Confidence (top-class probability)")
    bottom.set_ylabel("Count")
    bottom.set_xlim(0, 1)
    bottom.legend(loc="upper left", fontsize=8)
    return fig


def threshold_figure(curve: dict, tuned: float, default: float, objective: str,
                     positive_class: str) -> Figure:
    """Precision, recall and F1 of the positive class against the decision threshold (val)."""
    fig = new_figure(6.4, 4.6)
    ax = fig.add_subplot()
    for key, color in (("precision", "#1f77b4"), ("recall", "#ff7f0e"), ("f1", "#2ca02c")):
        ax.plot(curve["threshold"], curve[key], color=color, label=key.replace("f1", "F1"))
    ax.axvline(default, color="grey", linestyle="--", label=f"default {default:g}")
    ax.axvline(tuned, color="#d62728", linestyle="-", label=f"tuned {tuned:.3f} ({objective})")
    ax.set_xlabel(f"Decision threshold on P({positive_class})")
    ax.set_ylabel(f"Score of class {positive_class} on the val split")
    ax.set_title(f"Decision threshold tuning (val split, positive class {positive_class})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def class_balance_figure(counts: dict[str, dict[str, int]], class_names: list[str]) -> Figure:
    """Examples per class in each split, as grouped bars."""
    n = len(class_names)
    fig = new_figure(max(6.0, min(0.5 * n + 3, 14)), 4.2)
    ax = fig.add_subplot()
    x = np.arange(n)
    width = 0.8 / len(counts)
    for i, (split, per_class) in enumerate(counts.items()):
        ax.bar(x + (i - (len(counts) - 1) / 2) * width, [per_class[c] for c in class_names],
               width=width, color=COLORS.get(split), label=split)
    labels = [short_label(c) for c in class_names]
    slanted = n > 6 and max(len(label) for label in labels) > 3
    ax.set_xticks(x, labels, fontsize=tick_font_size(n), rotation=45 if slanted else 0,
                  ha="right" if slanted else "center")
    ax.set_xlabel("Class")
    ax.set_ylabel("Examples")
    top = max(max(per_class.values()) for per_class in counts.values())
    ax.set_ylim(0, top * 1.18)  # room for the legend above the bars
    ax.set_title("Class balance per split")
    ax.legend(fontsize=8, loc="upper center", ncol=len(counts))
    ax.grid(alpha=0.3, axis="y")
    return fig


def figures(labels: dict, outputs: dict, metrics: dict, spec, eval_cfg) -> dict[str, Figure]:
    """Class balance, confusion matrices (every split), ROC, PR and reliability (test), and
    the threshold curve (val) when ``metrics`` has a tuned binary threshold."""
    names = spec.class_names
    result = {"class_balance": class_balance_figure(metrics["data"]["class_counts"], names)}
    for split in labels:
        result[f"confusion_matrix_{split}"] = confusion_matrix_figure(
            metrics[split]["confusion_matrix"], names, split)
    y, p = labels["test"], outputs["test"]
    positive = metrics["threshold"]["positive_class_id"] if "threshold" in metrics else 1
    result["roc"] = roc_figure(y, p, names, "test", positive)
    result["pr"] = pr_figure(y, p, names, "test", positive)
    bins = reliability_bins(y, p, eval_cfg.calibration_bins)
    result["reliability"] = reliability_figure(bins, metrics["test"]["ece"], "test")
    if "threshold" in metrics:
        t = metrics["threshold"]
        curve = th.threshold_curve(labels["val"] == positive, outputs["val"][:, positive])
        result["threshold"] = threshold_figure(curve, t["value"], th.DEFAULT_THRESHOLD,
                                               t["objective"], t["positive_class"])
    return result
