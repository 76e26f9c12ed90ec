"""Classification metrics of a trained model on the train, val and test splits.

Reads the model and the split arrays; returns the plain dicts that go into metrics.json
(DESIGN.md's schema): accuracy, loss, macro precision/recall/F1 and ROC-AUC (binary, or
one-vs-rest macro for multiclass), computed with scikit-learn from the model's
probabilities.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def classification_metrics(y_true: np.ndarray, probs: np.ndarray) -> dict:
    """Accuracy, log loss, macro precision/recall/F1 and ROC-AUC from class probabilities."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.arange(probs.shape[1])
    y_pred = probs.argmax(axis=1)
    # Clip so one confident mistake gives a large, finite loss (as Keras does, eps 1e-7).
    clipped = np.clip(probs, 1e-7, 1.0)
    clipped /= clipped.sum(axis=1, keepdims=True)
    result = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "loss": float(skm.log_loss(y_true, clipped, labels=labels)),
        "precision_macro": float(
            skm.precision_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "recall_macro": float(
            skm.recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "f1_macro": float(
            skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "roc_auc": _roc_auc(y_true, clipped),
    }
    return result


def _roc_auc(y_true: np.ndarray, probs: np.ndarray) -> float | None:
    """ROC-AUC (one-vs-rest macro for multiclass); None when a split lacks a class."""
    if len(np.unique(y_true)) != probs.shape[1]:
        return None
    if probs.shape[1] == 2:
        return float(skm.roc_auc_score(y_true, probs[:, 1]))
    return float(skm.roc_auc_score(y_true, probs, multi_class="ovr", average="macro"))


def evaluate_splits(model, splits, batch_size: int = 256) -> dict:
    """Metrics of ``model`` on every split of a ``Splits`` object, keyed by split name."""
    results = {}
    for name in ("train", "val", "test"):
        arrays = getattr(splits, name)
        probs = model.predict(arrays.x, batch_size=batch_size, verbose=0)
        results[name] = classification_metrics(arrays.y, probs)
    return results


def diagnose_fit(results: dict, cfg) -> str:
    """good_fit, overfit or underfit from the train accuracy and the train–val gap."""
    train_acc, val_acc = results["train"]["accuracy"], results["val"]["accuracy"]
    if train_acc < cfg.evaluation.underfit_accuracy:
        return "underfit"
    if train_acc - val_acc > cfg.evaluation.overfit_gap:
        return "overfit"
    return "good_fit"
