"""The data-set registry: data.name -> a loader returning the whole data set in memory.

``tfrecord`` is not here: its folders hold data that is already split and is read by
``tfrecord_io`` (see ``splits.load_splits``).
"""

from __future__ import annotations

from collections.abc import Callable

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data import csv_source, image_dir, keras_sources, sklearn_sources, synthetic
from bigmodel_tf.data.raw import RawData, check_values
from bigmodel_tf.errors import ConfigError

LOADERS: dict[str, Callable[[ExperimentConfig], RawData]] = {
    **sklearn_sources.LOADERS,
    **synthetic.LOADERS,
    **csv_source.LOADERS,
    **image_dir.LOADERS,
    **keras_sources.LOADERS,
}


def load_raw(cfg: ExperimentConfig) -> RawData:
    """Load data.name in full and check that every feature value is finite and in range,
    and that its task is task.name's (csv follows task.name; the others have one task)."""
    raw = LOADERS[cfg.data.name](cfg)
    if cfg.task.name not in ("auto", raw.task):
        raise ConfigError(f"task.name={cfg.task.name}: data.name={cfg.data.name} is a "
                          f"{raw.task} data set")
    check_values(raw.x, f"data.name={cfg.data.name}", raw.feature_names)
    return raw
