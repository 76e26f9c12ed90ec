"""The model's outputs on every split (what each task's metrics and figures read).

Each split is streamed batch by batch (data/split.py): memory holds the outputs, never
the split's features.
"""

from __future__ import annotations

import numpy as np

from bigmodel_tf.data.tfrecord_io import SPLIT_NAMES

__all__ = ["SPLIT_NAMES", "predict_splits"]


def predict_splits(model, splits, batch_size: int = 256) -> dict[str, np.ndarray]:
    """The model's outputs (float64) on every split of a ``Splits``, keyed by split name."""
    return {
        name: np.asarray(model.predict(getattr(splits, name).batches(batch_size), verbose=0),
                         dtype=np.float64)
        for name in SPLIT_NAMES
    }
