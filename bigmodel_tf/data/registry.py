"""The data-set registry: data.name -> a source returning the whole data set in memory.

Every source has the signature ``load(data_cfg, seed) -> RawData``: the config's data
section and the run's seed. ``data.name=package.module:function`` names a plug-in source
with the same signature (bigmodel_tf/plugins.py); its result is checked like a built-in
one's. ``tfrecord`` is not here: its folders hold data that is already split and is read
by ``tfrecord_io``, nor ``image_dir`` and ``csv``: their files are streamed, never loaded
whole (see ``splits.load_splits``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bigmodel_tf.config import DataConfig
from bigmodel_tf.data import keras_sources, sklearn_sources, synthetic
from bigmodel_tf.data.raw import RawData, check_values
from bigmodel_tf.errors import ConfigError, DataError
from bigmodel_tf.plugins import is_plugin_path, load_plugin

Source = Callable[[DataConfig, int], RawData]
LOADERS: dict[str, Source] = {
    **sklearn_sources.LOADERS,
    **synthetic.LOADERS,
    **keras_sources.LOADERS,
}


def _source(name: str) -> Source:
    """The built-in source or plug-in that ``data.name`` names."""
    return load_plugin("data.name", name) if is_plugin_path(name) else LOADERS[name]


def check_raw(raw: object, where: str) -> None:
    """Raise DataError unless a source returned a RawData of matching, well-typed arrays."""
    if not isinstance(raw, RawData):
        raise DataError(f"{where}: returned {type(raw).__name__}, expected a "
                        "bigmodel_tf.data.raw.RawData")
    x, y = np.asarray(raw.x), np.asarray(raw.y)
    rank = {"image": 4, "tabular": 2}.get(raw.kind)
    if rank is None or x.ndim != rank or x.dtype != np.float32:
        raise DataError(f"{where}: expected float32 features of rank 4 (images) or 2 "
                        f"(tabular), got kind {raw.kind!r}, {x.dtype} of shape {x.shape}")
    if raw.task == "regression":
        if y.shape != (len(x),) or y.dtype != np.float32 or not np.isfinite(y).all():
            raise DataError(f"{where}: expected {len(x)} finite float32 regression targets "
                            f"(one per example), got {y.dtype} of shape {y.shape}")
    elif y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) or (
            len(y) and (y.min() < 0 or y.max() >= len(raw.class_names))):
        raise DataError(f"{where}: expected {len(x)} integer labels in 0..."
                        f"{len(raw.class_names) - 1} (one per example), got {y.dtype} of "
                        f"shape {y.shape}")


def load_raw(data_cfg: DataConfig, seed: int, task_name: str = "auto") -> RawData:
    """Load data.name in full and check that every feature value is finite and in range,
    and that its task is ``task_name``'s (every such source has one task)."""
    where = f"data.name={data_cfg.name}"
    raw = _source(data_cfg.name)(data_cfg, seed)
    if is_plugin_path(data_cfg.name):
        check_raw(raw, where)
    if task_name not in ("auto", raw.task):
        raise ConfigError(f"task.name={task_name}: {where} is a {raw.task} data set")
    check_values(raw.x, where, raw.feature_names)
    return raw
