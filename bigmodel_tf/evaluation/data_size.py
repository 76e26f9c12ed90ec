"""Learning curve by data size: would more data help?

The experiments layer retrains the same config on ``evaluation.data_size_fractions`` of
the train split (seeded stratified subsets through the data stage's
``data.train_fraction`` hook), each as a sub-run in ``<run>/data_size/fraction_<f>``,
scored on the unchanged val and test splits; this module turns their metrics into the
curve, with the main run as the point at its own size (100 % unless
``data.train_fraction`` is set). The verdict compares the two largest sizes in the task's
headline: the val accuracy gain and the relative fall of the val error rate (1 − accuracy)
per doubling of the data, or for an error headline (RMSE) its relative fall.
"""

from __future__ import annotations

import math

from bigmodel_tf.evaluation.subruns import metrics_task, summary_metrics

# More data helps when, per doubling of the training data, val accuracy rises by more than
# STILL_RISING or the val error rate falls by more than ERROR_FALLS (relative).
STILL_RISING = 0.01
ERROR_FALLS = 0.15
# An error headline (RMSE, which has a noise floor) helps when it falls by more than this.
HEADLINE_ERROR_FALLS = 0.05


def _point(fraction: float, metrics: dict) -> dict:
    """One point of the curve: the fraction, its train-set size and its split metrics."""
    return {"fraction": fraction, "train_examples": metrics["train"]["examples"],
            **{split: summary_metrics(metrics[split]) for split in ("train", "val", "test")}}


def verdict(points: list[dict]) -> dict:
    """The val headline's gain and error reduction per doubling of the data at the largest
    sizes (the headline of the points' task: accuracy, or an error such as RMSE)."""
    small, large = points[-2], points[-1]
    task = metrics_task(large["val"])
    h, scored = task.headline, task.direction == "max"
    doublings = max(math.log2(large["train_examples"] / max(small["train_examples"], 1)), 1e-9)
    a, b = small["val"][h], large["val"][h]
    gain = (b - a if scored else a - b) / doublings  # > 0: the larger set did better
    err_small, err_large = (1.0 - a, 1.0 - b) if scored else (a, b)
    error_drop = (1.0 - (max(err_large, 1e-9) / err_small) ** (1.0 / doublings)
                  if err_small > 0 else 0.0)
    if scored:
        helps = gain > STILL_RISING or error_drop > ERROR_FALLS
        measured = (f"per doubling of the training data, val {h} changes by {gain:+.3f} and "
                    f"the val error rate by {-error_drop:+.0%} ({err_small:.2%} -> "
                    f"{err_large:.2%})")
    else:
        helps = error_drop > HEADLINE_ERROR_FALLS
        measured = (f"per doubling of the training data, val {h} changes by "
                    f"{-error_drop:+.0%} ({err_small:.4g} -> {err_large:.4g})")
    text = (f"{measured}: more data of the same kind would likely help" if helps else
            f"{measured}: the curve has flattened, so more data of the same kind is unlikely "
            "to help much; change the model or its regularization instead")
    return {f"val_{h}_gain_per_doubling": gain, "val_error_drop_per_doubling": error_drop,
            "more_data_helps": helps, "text": text}


def data_size_curve(fractions: list[tuple[float, dict]], main_fraction: float,
                    full_metrics: dict) -> dict:
    """The points of the trained fractions, ``(data.train_fraction, metrics.json)`` each,
    and of the main run (``main_fraction``, its metrics), by size; and the verdict."""
    points = [_point(fraction, metrics) for fraction, metrics in fractions]
    points.append(_point(main_fraction, full_metrics))  # the main run
    points.sort(key=lambda p: p["train_examples"])
    return {"points": points, **verdict(points)}
