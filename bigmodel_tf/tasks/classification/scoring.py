"""How classification is scored: a split's metrics, the fit rules, the data summary.

The functions behind the classification task's ``split_metrics``, ``fit_scores``,
``data_summary``, ``analyses`` (the binary decision threshold), ``output_histograms`` and
``importance_scores``; the metrics themselves are in ``metrics.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bigmodel_tf.tasks.classification import threshold as th
from bigmodel_tf.tasks.classification.metrics import PROBABILITY_EPSILON, classification_metrics

SUMMARY_KEYS = ("accuracy", "f1_macro", "roc_auc", "loss", "precision_macro", "recall_macro",
                "pr_auc", "ece")
METRIC_LABELS = {
    "accuracy": "accuracy",
    "loss": "log loss",
    "precision_macro": "precision (macro)",
    "recall_macro": "recall (macro)",
    "f1_macro": "F1 (macro)",
    "precision_weighted": "precision (weighted)",
    "recall_weighted": "recall (weighted)",
    "f1_weighted": "F1 (weighted)",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "ece": "expected calibration error",
}


def positive(spec, eval_cfg) -> int:
    """The positive class id: ``evaluation.positive_class`` for binary tasks, else 1."""
    return th.positive_index(eval_cfg, spec.class_names) if spec.num_classes == 2 else 1


def split_metrics(labels: np.ndarray, outputs: np.ndarray, spec, eval_cfg) -> dict:
    """One split's metrics.json entry from class ids and class probabilities."""
    return classification_metrics(labels, outputs, spec.class_names,
                                  eval_cfg.calibration_bins, positive(spec, eval_cfg))


def fit_scores(metrics: dict, eval_cfg) -> dict:
    """Train and val accuracy, their gap, and the underfit / overfit rules of the config."""
    train, val = metrics["train"]["accuracy"], metrics["val"]["accuracy"]
    gap = train - val
    return {
        "train": train, "val": val, "gap": gap,
        "underfit": (f"train accuracy {train:.3f} is below evaluation.underfit_accuracy="
                     f"{eval_cfg.underfit_accuracy:g}"
                     if train < eval_cfg.underfit_accuracy else None),
        "overfit": (f"train accuracy exceeds val accuracy by {gap:.3f} (> "
                    f"evaluation.overfit_gap={eval_cfg.overfit_gap:g})"
                    if gap > eval_cfg.overfit_gap else None),
        "fits": f"train accuracy {train:.3f} and a train–val gap of {gap:.3f} are within "
                "the thresholds",
    }


def data_summary(splits) -> dict:
    """Split sizes and class counts per split, and the train split's imbalance ratio."""
    names = splits.spec.class_names
    parts = {s: getattr(splits, s).y for s in ("train", "val", "test")}
    counts = {s: dict(zip(names, np.bincount(y, minlength=len(names)).tolist(), strict=True))
              for s, y in parts.items()}
    train = [c for c in counts["train"].values() if c > 0]
    return {"split_sizes": {s: len(y) for s, y in parts.items()},
            "class_counts": counts, "imbalance_ratio": max(train) / min(train)}


def analyses(labels: dict, outputs: dict, spec, eval_cfg, run_dir: Path) -> dict:
    """Binary tasks: the decision threshold tuned on val (saved as threshold.json)."""
    if spec.num_classes != 2:
        return {}
    report = th.threshold_report(outputs, labels, eval_cfg, spec.class_names)
    th.write_threshold(report, run_dir)
    return {"threshold": report}


def output_histograms(outputs: np.ndarray) -> dict:
    """The top-class probability of each example."""
    return {"confidence": (outputs.max(axis=1), "top-class probability of each example")}


def importance_scores(outputs: np.ndarray, labels: np.ndarray) -> dict:
    """Log loss and accuracy of [repeats, n, classes] probabilities, one value per repeat."""
    picked = np.take_along_axis(outputs, labels[None, :, None], axis=2)[..., 0]
    return {"loss": -np.log(np.clip(picked, PROBABILITY_EPSILON, 1.0)).mean(axis=1),
            "accuracy": (outputs.argmax(axis=2) == labels[None]).mean(axis=1),
            "loss_name": "log loss"}
