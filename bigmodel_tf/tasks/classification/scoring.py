"""Placeholder of the classification split metrics (the tasks-eval helper's module replaces it)."""

from __future__ import annotations

from bigmodel_tf.evaluation.metrics import classification_metrics


def split_metrics(labels, outputs, spec, eval_cfg) -> dict:
    """One split's classification metrics."""
    return classification_metrics(labels, outputs, spec.class_names)
