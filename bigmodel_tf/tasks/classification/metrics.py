"""Classification metrics of a trained model on one split.

Reads class probabilities (a model's predictions) and true class ids; returns the plain
dicts that go into metrics.json (the schema, extended): accuracy, log loss,
precision/recall/F1 (macro and weighted), ROC-AUC (binary, or one-vs-rest macro for
multiclass), PR-AUC (average precision, one-vs-rest macro for multiclass), the expected
calibration error, per-class precision/recall/F1/support and the confusion matrix, all
computed with scikit-learn. The same function scores the scikit-learn baselines.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from bigmodel_tf.tasks.classification.calibration import expected_calibration_error

PROBABILITY_EPSILON = 1e-7  # Keras' clipping epsilon: one confident mistake stays finite


def clip_probabilities(probs: np.ndarray) -> np.ndarray:
    """Probabilities clipped to [eps, 1] and renormalized (float64), as Keras' loss does."""
    clipped = np.clip(np.asarray(probs, dtype=np.float64), PROBABILITY_EPSILON, 1.0)
    return clipped / clipped.sum(axis=1, keepdims=True)


def _roc_auc(y_true: np.ndarray, probs: np.ndarray) -> float | None:
    """ROC-AUC (one-vs-rest macro for multiclass); None when a split lacks a class."""
    if len(np.unique(y_true)) != probs.shape[1]:
        return None
    if probs.shape[1] == 2:  # the same for either class as the positive one
        return float(skm.roc_auc_score(y_true, probs[:, 1]))
    return float(skm.roc_auc_score(y_true, probs, multi_class="ovr", average="macro"))


def _pr_auc(y_true: np.ndarray, probs: np.ndarray, positive: int) -> float | None:
    """Average precision of the positive class (binary) or macro; None if a class is absent."""
    if len(np.unique(y_true)) != probs.shape[1]:
        return None
    if probs.shape[1] == 2:
        return float(skm.average_precision_score(y_true == positive, probs[:, positive]))
    onehot = label_binarize(y_true, classes=np.arange(probs.shape[1]))
    return float(skm.average_precision_score(onehot, probs, average="macro"))


def per_class_metrics(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str]) -> dict:
    """Precision, recall, F1 and support of every class, keyed by class name."""
    labels = np.arange(len(class_names))
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support, strict=True)
    }


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, class_names: list[str] | None = None,
    calibration_bins: int = 10, positive: int = 1,
) -> dict:
    """Every metrics.json number of one split, from true class ids and class probabilities.

    ``positive`` is the class id whose average precision is the binary PR-AUC.
    """
    clipped = clip_probabilities(probs)
    labels = np.arange(clipped.shape[1])
    names = class_names or [str(i) for i in labels]
    y_pred = clipped.argmax(axis=1)
    result = {"accuracy": float(skm.accuracy_score(y_true, y_pred)),
              "loss": float(skm.log_loss(y_true, clipped, labels=labels))}
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        result.update({f"precision_{average}": float(precision),
                       f"recall_{average}": float(recall), f"f1_{average}": float(f1)})
    result.update({
        "roc_auc": _roc_auc(y_true, clipped),
        "pr_auc": _pr_auc(y_true, clipped, positive),
        "ece": expected_calibration_error(y_true, clipped, calibration_bins),
        "examples": int(len(y_true)),
        "per_class": per_class_metrics(y_true, y_pred, names),
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    })
    return result
