"""Generated, learnable data sets for tests and benchmarks: synthetic_images,
synthetic_tabular and synthetic_regression.

They read ``data.synthetic`` (size, classes, class proportions for imbalance, noise) and
are seeded by the run's ``seed``, so the same config always gives the same data.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.datasets import make_classification, make_friedman1

from bigmodel_tf.config import DataConfig, SyntheticConfig
from bigmodel_tf.data.raw import RawData
from bigmodel_tf.errors import ConfigError

# synthetic_images: a sinusoidal grating whose orientation encodes the class.
_CYCLES = 2.0  # grating periods across the image
_AMPLITUDE = 0.35  # around a mid-gray of 0.5, so pixels stay in [0, 1] before noise
_MAX_SHIFT = 0.15  # random translation, fraction of the image size (needs invariance)
_NOISE = 0.2  # standard deviation of per-pixel Gaussian noise


def _class_proportions(syn: SyntheticConfig) -> np.ndarray:
    """Normalized class frequencies (balanced when class_proportions is None)."""
    props = syn.class_proportions or [1.0] * syn.num_classes
    return np.asarray(props, dtype=np.float64) / sum(props)


def _labels(syn: SyntheticConfig, rng: np.random.Generator) -> np.ndarray:
    """Shuffled int32 labels with exactly the requested per-class counts (largest remainder)."""
    n = syn.num_examples
    expected = _class_proportions(syn) * n
    counts = np.floor(expected).astype(np.int64)
    counts[np.argsort(counts - expected)[: n - counts.sum()]] += 1
    labels = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    return rng.permutation(labels)


def load_synthetic_images(data_cfg: DataConfig, seed: int) -> RawData:
    """Oriented gratings (angle = class), randomly shifted and noisy, pixels in [0, 1].

    The class is visible to a CNN (orientation) and to an MLP, while the shift and noise
    keep the task from being trivially memorized by one template per class.
    """
    syn = data_cfg.synthetic
    rng = np.random.default_rng(seed)
    y = _labels(syn, rng)
    n, size, channels = len(y), syn.image_size, data_cfg.channels
    rows, cols = np.meshgrid(np.arange(size) / size, np.arange(size) / size, indexing="ij")
    angle = (np.pi * y / syn.num_classes)[:, None, None]
    shift = rng.uniform(-_MAX_SHIFT, _MAX_SHIFT, (n, 2, 1, 1))
    coord = (cols + shift[:, 0]) * np.cos(angle) + (rows + shift[:, 1]) * np.sin(angle)
    grating = 0.5 + _AMPLITUDE * np.sin(2 * np.pi * _CYCLES * coord)
    noise = rng.normal(0.0, _NOISE, (n, size, size, channels))
    x = np.clip(grating[..., np.newaxis] + noise, 0.0, 1.0).astype(np.float32)
    return RawData(
        x=x,
        y=y,
        kind="image",
        class_names=[f"class_{k}" for k in range(syn.num_classes)],
        value_range=[0.0, 1.0],
    )


def load_synthetic_tabular(data_cfg: DataConfig, seed: int) -> RawData:
    """scikit-learn's make_classification with the configured class proportions."""
    syn = data_cfg.synthetic
    # make_classification places each class on a hypercube vertex of the informative
    # subspace, so it needs 2**informative >= classes.
    needed = max(1, math.ceil(math.log2(syn.num_classes)))
    if needed > syn.num_features:
        raise ConfigError(
            f"data.synthetic.num_features: expected at least {needed} for "
            f"{syn.num_classes} classes, got {syn.num_features}"
        )
    informative = min(syn.num_features, max(needed + 1, syn.num_features // 2))
    x, y = make_classification(
        n_samples=syn.num_examples,
        n_features=syn.num_features,
        n_informative=informative,
        n_redundant=0,
        n_classes=syn.num_classes,
        n_clusters_per_class=1,
        weights=list(_class_proportions(syn)),
        flip_y=0.0,  # no label noise, so class_proportions hold exactly
        random_state=seed,
    )
    return RawData(
        x=x.astype(np.float32),
        y=y.astype(np.int32),
        kind="tabular",
        class_names=[f"class_{k}" for k in range(syn.num_classes)],
        feature_names=[f"feature_{i}" for i in range(syn.num_features)],
    )


FRIEDMAN_FEATURES = 5  # make_friedman1's target depends on the first five features


def load_synthetic_regression(data_cfg: DataConfig, seed: int) -> RawData:
    """scikit-learn's make_friedman1 (Friedman #1): features uniform on [0, 1], of which the
    first five make the target, plus Gaussian noise of standard deviation
    ``data.synthetic.noise`` (the irreducible RMSE)."""
    syn = data_cfg.synthetic
    if syn.num_features < FRIEDMAN_FEATURES:
        raise ConfigError(
            f"data.synthetic.num_features: expected at least {FRIEDMAN_FEATURES} for "
            f"synthetic_regression (Friedman #1), got {syn.num_features}"
        )
    x, y = make_friedman1(n_samples=syn.num_examples, n_features=syn.num_features,
                          noise=syn.noise, random_state=seed)
    return RawData(
        x=x.astype(np.float32),
        y=y.astype(np.float32),
        kind="tabular",
        class_names=[],
        feature_names=[f"feature_{i}" for i in range(syn.num_features)],
        task="regression",
    )


LOADERS = {
    "synthetic_images": load_synthetic_images,
    "synthetic_tabular": load_synthetic_tabular,
    "synthetic_regression": load_synthetic_regression,
}
