"""Permutation feature importance of a Keras model on tabular data.

How much worse does the model get when one feature's values are shuffled across examples
(breaking its link to the label while keeping its distribution)? For every feature, all
``repeats`` seeded shuffles are stacked into one batch and predicted at once (vectorized);
the importance is the mean increase of the task's loss (classification: log loss;
regression: MSE) and the change of its headline (the drop in accuracy, the rise in RMSE),
with the standard deviation over the repeats (``Task.importance_scores`` scores the
outputs). Reads the model and one split's arrays; returns a plain dict and a figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bigmodel_tf.plots import new_figure, short_label

TOP_FEATURES = 20  # features shown in the figure


def _worse(task) -> tuple[str, int]:
    """The result key of the headline's change and its sign (+1: a rise is worse)."""
    if task.direction == "max":
        return f"{task.headline}_drop", -1
    return f"{task.headline}_increase", 1


def permutation_importance(
    model, x: np.ndarray, y: np.ndarray, feature_names: list[str], task, repeats: int = 5,
    seed: int = 0, batch_size: int = 4096,
) -> dict:
    """Mean and std (over the shuffles) of the loss increase and the headline's worsening
    (``accuracy_drop``, ``rmse_increase``) per feature."""
    rng = np.random.default_rng(seed)
    n, features = x.shape
    h, sign = task.headline, _worse(task)[1]
    base = task.importance_scores(model.predict(x, batch_size=batch_size, verbose=0)[None], y)
    base_loss, base_headline = float(base["loss"][0]), float(base[h][0])
    loss_increase = np.empty((features, repeats))
    worse = np.empty((features, repeats))
    for j in range(features):
        stacked = np.repeat(x[None], repeats, axis=0)  # [repeats, n, features]
        orders = rng.permuted(np.tile(np.arange(n), (repeats, 1)), axis=1)
        stacked[:, :, j] = x[orders, j]
        outputs = model.predict(stacked.reshape(repeats * n, features), batch_size=batch_size,
                                verbose=0).reshape(repeats, n, -1)
        scores = task.importance_scores(outputs, y)
        loss_increase[j] = scores["loss"] - base_loss
        worse[j] = sign * (scores[h] - base_headline)
    key = _worse(task)[0]
    return {
        "feature_names": list(feature_names),
        "loss_name": base["loss_name"],
        "loss_increase_mean": loss_increase.mean(axis=1).tolist(),
        "loss_increase_std": loss_increase.std(axis=1).tolist(),
        f"{key}_mean": worse.mean(axis=1).tolist(),
        f"{key}_std": worse.std(axis=1).tolist(),
        "baseline_loss": base_loss,
        f"baseline_{h}": base_headline,
        "repeats": repeats,
        "examples": n,
    }


def ranking(result: dict) -> list[int]:
    """Feature indices ordered from the most to the least important (by loss increase)."""
    return list(np.argsort(result["loss_increase_mean"])[::-1])


def importance_figure(result: dict, split: str) -> Figure:
    """Horizontal bars of the top features' loss increase, with ±1 std error bars."""
    order = ranking(result)[:TOP_FEATURES][::-1]  # most important at the top
    fig = new_figure(7.5, max(3.5, 0.32 * len(order) + 1.6))
    ax = fig.add_subplot()
    means = np.asarray(result["loss_increase_mean"])[order]
    stds = np.asarray(result["loss_increase_std"])[order]
    ax.barh(range(len(order)), means, xerr=stds, color="#1f77b4", ecolor="black", capsize=3,
            label=f"mean ± std over {result['repeats']} shuffles")
    ax.set_yticks(range(len(order)), [short_label(result["feature_names"][i], 28)
                                      for i in order], fontsize=8)
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_xlabel(f"Increase of the {split} {result['loss_name']} when the feature is shuffled "
                  f"(base {result['baseline_loss']:.3f})")
    ax.set_ylabel("Feature")
    shown = f"top {len(order)} of {len(result['feature_names'])}"
    ax.set_title(f"Permutation feature importance ({split} split, {shown})")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return fig
