"""Nested config and metrics as the flat, dotted names a tracker accepts.

MLflow takes names of letters, digits, ``_ - . /`` and spaces that do not read as other
paths, and param values of at most 6000 characters; a class name such as ``B+`` would
be refused, so every name segment is cleaned (other characters and runs of dots become
``_``) before it is joined with dots.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

MAX_PARAM_CHARS = 6000


def _segment(name: Any) -> str:
    """One name segment with the characters trackers refuse replaced by ``_``."""
    cleaned = re.sub(r"\.{2,}", "_", re.sub(r"[^\w\-. ]", "_", str(name)))
    return cleaned.strip(".") or "_"


def flat_items(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted name, leaf) for every leaf of nested mappings; lists are leaves."""
    for key, value in tree.items():
        name = f"{prefix}{_segment(key)}"
        if isinstance(value, Mapping) and value:
            yield from flat_items(value, f"{name}.")
        else:
            yield name, value


def flat_params(config: Mapping[str, Any]) -> dict[str, str]:
    """The config's keys as dotted params; values as text (JSON for non-strings)."""
    return {name: (value if isinstance(value, str) else json.dumps(value, default=str))
            [:MAX_PARAM_CHARS] for name, value in flat_items(config)}


def is_number(value: Any) -> bool:
    """A real number that a tracker stores as a metric (not a bool, not NaN or inf)."""
    try:
        return not isinstance(value, bool | str) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def flat_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of nested metrics as dotted names (``val.accuracy``); lists and text
    (the confusion matrix, the diagnosis) are left to the artifacts."""
    return {name: float(value) for name, value in flat_items(metrics) if is_number(value)}
