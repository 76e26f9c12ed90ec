"""The data stage: data-set registry, stratified splits, tf.data pipelines, TFRecords.

Reads ``cfg.data`` (and ``cfg.seed``); returns plain objects other stages use:
``load_splits(cfg) -> Splits`` (DataSpec + three ``Split``s: in-memory arrays or streamed
files, data/split.py), ``build_dataset(splits, split, data,
seed, global_batch, replicas=1, input_context=None) -> tf.data.Dataset`` (the pipeline of
the splits it is given) and ``convert_to_tfrecord(cfg, out_dir)``.
"""

from bigmodel_tf.data.convert import convert_to_tfrecord
from bigmodel_tf.data.pipeline import build_dataset, with_run_cache
from bigmodel_tf.data.registry import LOADERS
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.data.split import ArraySplit, Split, StreamedSplit
from bigmodel_tf.data.splits import Splits, load_splits
from bigmodel_tf.data.stream_errors import stream_errors

__all__ = [
    "LOADERS",
    "DataSpec",
    "ArraySplit",
    "Split",
    "Splits",
    "StreamedSplit",
    "build_dataset",
    "convert_to_tfrecord",
    "load_splits",
    "stream_errors",
    "with_run_cache",
]
