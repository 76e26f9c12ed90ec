"""report.md's regression sections: data and label distribution, metrics and residuals.

Each function takes the evaluation result (what goes into metrics.json) and returns one
markdown section; ``report_sections`` is the task's ``report_sections``.
"""

from __future__ import annotations

from bigmodel_tf.markdown import figure, join, table
from bigmodel_tf.tasks.base import SPLITS
from bigmodel_tf.tasks.regression.scoring import METRIC_LABELS, SUMMARY_KEYS


def data_section(spec, result: dict) -> str:
    """Shape, split sizes and the label distribution per split."""
    info = result["data"]
    stats = info["label_stats"]
    rows = [[s, info["split_sizes"][s], *(stats[s][k] for k in ("mean", "std", "min", "max"))]
            for s in SPLITS]
    kind = "images" if spec.kind == "image" else "tabular rows"
    return join(
        "## Data",
        f"{kind} of shape {spec.input_shape} with a numeric label"
        + (f", {len(spec.feature_names)} features" if spec.feature_names else "") + ".",
        table(["split", "examples", "label mean", "label std", "min", "max"], rows),
        "A model that always predicted the train mean would have an RMSE of about the label "
        "std (R² 0).",
        figure(result["figures"].get("label_distribution"), "Label distribution per split"),
    )


def metrics_section(result: dict) -> str:
    """MAE, RMSE, R² and MSE per split, predicted vs true and the residuals (test)."""
    rows = [[METRIC_LABELS[k], *(result[s].get(k) for s in SPLITS)] for k in SUMMARY_KEYS]
    figures = result["figures"]
    return join(
        "## Metrics",
        "Computed with scikit-learn from the model's predictions (RMSE and MAE in the "
        "label's units; R² = 1 − MSE / variance of the labels).",
        table(["metric", *SPLITS], rows),
        "### Predicted vs true values",
        figure(figures.get("predicted_vs_true"), "Predicted against true values (test split)"),
        "### Residuals",
        figure(figures.get("residuals"), "Residuals against the prediction (test split)"),
    )


def report_sections(result: dict, spec, eval_cfg=None) -> list[str]:
    """The data and metrics sections of report.md."""
    return [data_section(spec, result), metrics_section(result)]
