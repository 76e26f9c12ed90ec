"""Calibration: does a predicted confidence of 0.8 mean 80 % of such predictions are right?

Reads true class ids and class probabilities; returns the reliability-diagram bins and the
expected calibration error (ECE) of the top-label confidence, with equal-width bins over
[0, 1] (Guo et al., 2017): ECE = sum over bins of (bin size / n) * |accuracy - confidence|.
"""

from __future__ import annotations

import numpy as np


def reliability_bins(y_true: np.ndarray, probs: np.ndarray, bins: int = 10) -> dict:
    """Per equal-width confidence bin: mean confidence, accuracy and example count.

    Empty bins have count 0 and NaN confidence/accuracy (they are skipped in plots and ECE).
    """
    probs = np.asarray(probs, dtype=np.float64)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == np.asarray(y_true)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds confidences in (edges[i], edges[i+1]]; a confidence of exactly 0 goes to 0.
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=bins) / counts
        accuracy = np.bincount(index, weights=correct, minlength=bins) / counts
    return {"edges": edges, "confidence": mean_conf, "accuracy": accuracy, "counts": counts}


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """ECE of the top-label confidence over ``bins`` equal-width bins (0 = calibrated)."""
    table = reliability_bins(y_true, probs, bins)
    filled = table["counts"] > 0
    gaps = np.abs(table["accuracy"][filled] - table["confidence"][filled])
    return float((table["counts"][filled] * gaps).sum() / max(len(y_true), 1))
