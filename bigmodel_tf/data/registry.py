"""The data-set registry: data.name -> a loader returning the whole data set in memory.

``tfrecord`` is not here: its folders hold data that is already split and is read by
``tfrecord_io`` (see ``splits.load_splits``).
"""

from __future__ import annotations

from collections.abc import Callable

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data import csv_source, image_dir, keras_sources, sklearn_sources, synthetic
from bigmodel_tf.data.raw import RawData, check_values

LOADERS: dict[str, Callable[[ExperimentConfig], RawData]] = {
    **sklearn_sources.LOADERS,
    **synthetic.LOADERS,
    **csv_source.LOADERS,
    **image_dir.LOADERS,
    **keras_sources.LOADERS,
}


def load_raw(cfg: ExperimentConfig) -> RawData:
    """Load data.name in full and check that every feature value is finite and in range."""
    raw = LOADERS[cfg.data.name](cfg)
    check_values(raw.x, f"data.name={cfg.data.name}", raw.feature_names)
    return raw
