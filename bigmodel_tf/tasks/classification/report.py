"""report.md's classification sections: data and class balance, metrics, decision threshold.

Each function takes the evaluation result (what goes into metrics.json) and returns one
markdown section; ``report_sections`` is the task's ``report_sections``.
"""

from __future__ import annotations

from bigmodel_tf.markdown import figure, fmt, join, table
from bigmodel_tf.tasks.base import SPLITS
from bigmodel_tf.tasks.classification.scoring import METRIC_LABELS
from bigmodel_tf.tasks.classification.threshold import DEFAULT_THRESHOLD


def data_section(spec, result: dict) -> str:
    """Shape, classes, split sizes and the class balance per split."""
    info = result["data"]
    counts = info["class_counts"]
    train_total = max(sum(counts["train"].values()), 1)
    rows = [[c, *(counts[s][c] for s in SPLITS), f"{counts['train'][c] / train_total:.1%}"]
            for c in spec.class_names]
    rows.append(["**total**", *(sum(counts[s].values()) for s in SPLITS), "100%"])
    ratio = info["imbalance_ratio"]
    note = (f"The classes are imbalanced: the largest train class is {ratio:.1f}× the "
            "smallest; look at macro F1, PR-AUC and per-class recall, not only accuracy."
            if ratio >= 1.5 else "The classes are roughly balanced.")
    kind = "images" if spec.kind == "image" else "tabular rows"
    return join(
        "## Data",
        f"{kind} of shape {spec.input_shape}, {spec.num_classes} classes"
        + (f", {len(spec.feature_names)} features" if spec.feature_names else "") + ".",
        table(["class", *SPLITS, "train share"], rows),
        note,
        figure(result["figures"].get("class_balance"), "Examples per class in each split"),
    )


def metrics_section(spec, result: dict, eval_cfg) -> str:
    """Metrics per split, per-class test metrics, confusion matrix, ROC, PR, calibration."""
    rows = [[label, *(result[s].get(key) for s in SPLITS)]
            for key, label in METRIC_LABELS.items()]
    per_class = result["test"]["per_class"]
    class_rows = [[c, per_class[c]["precision"], per_class[c]["recall"], per_class[c]["f1"],
                   per_class[c]["support"]] for c in spec.class_names]
    figures = result["figures"]
    others = ", ".join(f"[{s}]({figures[f'confusion_matrix_{s}']})" for s in ("train", "val")
                       if f"confusion_matrix_{s}" in figures)
    ece = result["test"]["ece"]
    return join(
        "## Metrics",
        "Computed with scikit-learn from the model's probabilities (ROC-AUC and PR-AUC: "
        "positive class for binary tasks, one-vs-rest macro for multiclass).",
        table(["metric", *SPLITS], rows),
        "### Per class (test split)",
        table(["class", "precision", "recall", "F1", "support"], class_rows),
        "### Confusion matrix",
        figure(figures.get("confusion_matrix_test"), "Confusion matrix of the test split"),
        f"The same for the other splits: {others}." if others else "",
        "### ROC and precision–recall curves",
        figure(figures.get("roc"), "ROC curve (test split)"),
        figure(figures.get("pr"), "Precision–recall curve (test split)"),
        "### Calibration",
        f"Expected calibration error on the test split: **{fmt(ece)}** (0 means the predicted "
        "confidences match the observed accuracies; "
        f"`evaluation.calibration_bins` = {eval_cfg.calibration_bins}).",
        figure(figures.get("reliability"), "Reliability diagram (test split)"),
    )


def threshold_section(result: dict) -> str:
    """Default 0.5 vs the val-tuned decision threshold, on val and test."""
    t = result.get("threshold")
    if not t:
        return ""
    goal = (f"the best precision at recall ≥ {t['target_recall']:g}" if t["objective"] ==
            "recall" else "the best F1")
    rows = [[f"{name} ({value:.3f})", split, *(t[f"{split}_at_{name}"][k] for k in
                                              ("accuracy", "precision", "recall", "f1"))]
            for name, value in (("default", DEFAULT_THRESHOLD), ("tuned", t["value"]))
            for split in ("val", "test")]
    k = t["positive_class_id"]
    usage = (f"A serving client predicts **{t['positive_class']}** when its probability "
             f"(`probabilities[:, {k}]`) is at least **{t['value']:.4f}**, else the other "
             "class; the value is saved in [threshold.json](threshold.json), and "
             "`bigmodel_tf.tasks.classification.threshold.apply_threshold(probabilities, "
             f"threshold, positive={k})` does it in Python.")
    return join(
        "## Decision threshold",
        f"Tuned on the val split for {goal} (`evaluation.threshold_objective`), scored on "
        f"val and test beside the default {DEFAULT_THRESHOLD}. Precision, recall and F1 are "
        f"those of the positive class **{t['positive_class']}**.",
        table(["threshold", "split", "accuracy", "precision", "recall", "F1"], rows),
        usage,
        figure(result["figures"].get("threshold"), "Precision, recall and F1 against the "
               "decision threshold (val split)"),
    )


def report_sections(result: dict, spec, eval_cfg) -> list[str]:
    """The data, metrics and decision-threshold sections of report.md."""
    return [data_section(spec, result), metrics_section(spec, result, eval_cfg),
            threshold_section(result)]
