"""The task registry: ``get_task(name)``, ``infer_task(labels)`` and ``TASK_NAMES``.

A task is one subpackage here whose ``TASK`` is a ``base.Task``; ``get_task`` imports it
on first use, so the data stage can infer a task without importing any head or metric.
"""

from __future__ import annotations

import functools
import importlib

import numpy as np

from bigmodel_tf.tasks.base import Task

TASK_NAMES = ("classification", "regression")
# Numeric labels with more distinct values than this are inferred to be regression targets;
# strings, and numbers with at most this many distinct values, are class labels.
MAX_INFERRED_CLASSES = 20


@functools.cache
def get_task(name: str) -> Task:
    """The task called ``name`` (one of TASK_NAMES)."""
    if name not in TASK_NAMES:
        raise ValueError(f"task: expected one of {', '.join(TASK_NAMES)}, got {name!r}")
    return importlib.import_module(f"bigmodel_tf.tasks.{name}").TASK


def _numbers(labels) -> np.ndarray | None:
    """The labels as float64 numbers, or None when one of them is not a number."""
    values = np.asarray(labels)
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    try:
        return np.asarray([float(v) for v in values.ravel()], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def infer_task(labels) -> str:
    """``regression`` for numeric labels with many distinct values, else ``classification``.

    Strings, and numbers (integers or floats) with at most MAX_INFERRED_CLASSES distinct
    values, are class labels; ``task.name`` overrides the inference.
    """
    numbers = _numbers(labels)
    if numbers is None or len(np.unique(numbers)) <= MAX_INFERRED_CLASSES:
        return "classification"
    return "regression"


def describe_labels(labels) -> str:
    """Why ``infer_task`` chose what it chose, for the log line that records it."""
    numbers = _numbers(labels)
    if numbers is None:
        return "text labels"
    return f"numeric labels with {len(np.unique(numbers))} distinct values"
