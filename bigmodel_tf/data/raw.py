"""The in-memory form every data-set loader returns before splitting, and its checks.

Each source module (sklearn_sources, synthetic, csv_source, image_dir, keras_sources)
turns its input into a ``RawData``; ``splits.load_splits`` splits it and fits statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bigmodel_tf.errors import DataError


@dataclass
class RawData:
    """A whole data set in memory: float32 features, and int32 class ids with their names
    (classification) or float32 targets (regression, no class names)."""

    x: np.ndarray  # [n, h, w, c] images or [n, features] tabular, float32, unnormalized
    y: np.ndarray  # [n] int32 class ids in 0..len(class_names)-1, or float32 targets
    kind: Literal["image", "tabular"]
    class_names: list[str]
    feature_names: list[str] | None = None
    categories: dict[str, list[str]] | None = None
    value_range: list[float] | None = None  # images: [low, high] of raw pixel values
    task: str = "classification"


def encode_labels(labels: Sequence[str], where: str) -> tuple[np.ndarray, list[str]]:
    """Map label strings to class ids; integer labels sort numerically, others as text.

    Sorting makes the class ids independent of row order, so the same file always gives
    the same ids (and the same model outputs).
    """
    try:
        # Integer labels may be written differently ("01" and "1"): compare as numbers.
        keys = [int(v) for v in labels]
    except ValueError:
        keys = list(labels)
    ordered = sorted(set(keys))
    names = [str(k) for k in ordered]
    if len(names) < 2:
        found = f" ({names[0]!r})" if names else ""
        raise DataError(f"{where}: expected at least 2 classes, found {len(names)}{found}")
    index = {k: i for i, k in enumerate(ordered)}
    return np.array([index[k] for k in keys], dtype=np.int32), names


def regression_targets(labels: Sequence[str], where: str) -> np.ndarray:
    """Label cells as float32 regression targets (DataError at the first that is not a
    finite number)."""
    values = []
    for text in labels:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or abs(value) > FEATURE_LIMIT:
            raise DataError(f"{where}: label {text!r} is not a finite number (regression "
                            "needs numeric labels; task.name=classification for classes)")
        values.append(value)
    return np.asarray(values, dtype=np.float32)


# The largest feature magnitude a data set may hold: the square root of float32's maximum.
# Within it every value, its mean, its distance from the mean and the variance of its column
# are finite in float32, so the model's Normalization layer (float32 constants) stays finite;
# beyond it a value such as 3e38 casts to float32 but its column's variance overflows.
# float32 rounds the square root down, so the limit is itself a float32 whose square fits.
FEATURE_LIMIT = float(np.float32(np.sqrt(np.finfo(np.float32).max, dtype=np.float64)))
FEATURE_LIMIT_TEXT = f"±{FEATURE_LIMIT:.2g}".replace("e+", "e")  # for messages


def usable_values(x: np.ndarray) -> np.ndarray:
    """Mask of the values that are finite and within ±FEATURE_LIMIT (NaN is outside)."""
    return np.abs(x) <= FEATURE_LIMIT


def check_values(x: np.ndarray, where: str, feature_names: Sequence[str] | None = None) -> None:
    """Raise DataError naming the first example and feature that is NaN, infinite or beyond
    ±FEATURE_LIMIT."""
    # max and min need no full-size temporary array, and NaN propagates through both.
    if not x.size or (x.min() >= -FEATURE_LIMIT and x.max() <= FEATURE_LIMIT):
        return
    flat = x.reshape(len(x), -1)
    example, feature = np.argwhere(~usable_values(flat))[0]
    name = (f"feature {feature_names[feature]!r}" if feature_names
            else f"flattened feature {feature}")
    raise DataError(
        f"{where}: feature value {flat[example, feature]} at example {example}, {name} is "
        f"NaN, infinite or beyond {FEATURE_LIMIT_TEXT} (where float32 normalization "
        "statistics overflow)"
    )
