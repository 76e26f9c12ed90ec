"""Normalization statistics in one streaming pass: exact per-channel mean and variance.

Batches are combined with Chan et al.'s pairwise update in float64, so the result equals
the two-pass mean and variance of the whole split up to float64 rounding, in memory of one
batch. A feature that is constant in the split gets variance 1.0 (it is only centered), so
it neither divides by zero nor blows up a val/test value that differs from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bigmodel_tf.data.split import Split

_BATCH = 1024  # examples per batch of the pass


@dataclass(frozen=True)
class Moments:
    """Mean and variance over all axes but the last (per channel or per feature)."""

    mean: np.ndarray
    variance: np.ndarray


def _feature_batches(split: Split):
    """The split's features batch by batch as NumPy arrays: slices of an in-memory split
    (no TensorFlow op, so TensorFlow's runtime is not started before the strategy is
    chosen), tf.data batches of a streamed one."""
    if split.in_memory:
        x = split.load()[0]
        return (x[i:i + _BATCH] for i in range(0, len(x), _BATCH))
    return (x.numpy() for x, _ in split.batches(_BATCH))


def moments(split: Split) -> Moments:
    """The mean and variance of ``split``'s features, read once batch by batch."""
    count, mean, squares, low, high = 0, 0.0, 0.0, np.inf, -np.inf
    for x in _feature_batches(split):
        flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
        n = len(flat)
        batch_mean = flat.mean(axis=0)
        batch_squares = ((flat - batch_mean) ** 2).sum(axis=0)
        delta = batch_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        squares = squares + batch_squares + delta**2 * (count * n / total)
        count = total
        low, high = np.minimum(low, flat.min(axis=0)), np.maximum(high, flat.max(axis=0))
    channels = split.example_shape[-1]
    if count == 0:
        return Moments(np.zeros(channels), np.ones(channels))
    variance = squares / count
    return Moments(np.asarray(mean), np.where(high == low, 1.0, np.maximum(variance, 1e-12)))


def read_through(split: Split) -> int:
    """Read every example of ``split`` once (decode errors surface here); the count read."""
    return sum(int(y.shape[0]) for _, y in split.batches(_BATCH))
