"""The in-memory form every data-set loader returns before splitting, and its checks.

Each source module (sklearn_sources, synthetic, csv_source, image_dir, keras_sources)
turns its input into a ``RawData``; ``splits.load_splits`` splits it and fits statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bigmodel_tf.errors import DataError


@dataclass
class RawData:
    """A whole data set in memory: float32 features, int32 class ids and their names."""

    x: np.ndarray  # [n, h, w, c] images or [n, features] tabular, float32, unnormalized
    y: np.ndarray  # [n] int32 class ids in 0..len(class_names)-1
    kind: Literal["image", "tabular"]
    class_names: list[str]
    feature_names: list[str] | None = None
    categories: dict[str, list[str]] | None = None
    value_range: list[float] | None = None  # images: [low, high] of raw pixel values


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


def check_finite(x: np.ndarray, where: str) -> None:
    """Raise DataError naming the first example and feature that is NaN or infinite."""
    # A float64 sum of float32 values is finite exactly when every value is (it cannot
    # overflow), and it needs no full-size temporary array.
    if np.isfinite(x.sum(dtype=np.float64)):
        return
    example, feature = np.argwhere(~np.isfinite(x.reshape(len(x), -1)))[0]
    raise DataError(
        f"{where}: feature values contain NaN or infinity "
        f"(first at example {example}, flattened feature {feature})"
    )
