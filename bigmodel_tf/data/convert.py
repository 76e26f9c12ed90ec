"""`bigmodel data convert`: write any registered data set, already split, as TFRecords.

The splits are streamed shard by shard (data/split.py): an image folder is decoded by a
parallel tf.data map and each image re-encoded as PNG (``encoding: png``; the embedded
image sets whose pixels are whole numbers in 0..255 too), tabular rows and other images
are stored as float values. Nothing but one batch is held in memory, and a progress bar
counts the examples.

The folder is built in a staging folder beside it, ``.<name>.partial``, which holds a
``source.json`` naming the data it is converting. Each shard is written under a temporary
name and renamed when complete, so an interrupted conversion, run again with the same
data, keeps the shards it finished and writes the rest; the staging folder is renamed
into place at the end (on an object store, file by file with spec.json last), so nothing
half-written is ever at ``--out``. Reading it back with
``data.name=tfrecord data.path=<folder>`` gives the same splits and the same spec.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from bigmodel_tf.config import ExperimentConfig, keys_with, select, to_dict
from bigmodel_tf.data.split import Split
from bigmodel_tf.data.splits import load_splits
from bigmodel_tf.data.tfrecord_io import (
    COMPRESSION,
    SPEC_FILE,
    SPLIT_NAMES,
    RecordFormat,
    png_encodable,
    shard_name,
)
from bigmodel_tf.errors import ConfigError, DataError

_SOURCE_FILE = "source.json"  # in the staging folder: the data being converted
_BATCH = 256  # examples decoded and encoded per batch


def _encoding(split: Split, kind: str) -> str:
    """png for an image folder and for in-memory images of whole 0..255 values, else float."""
    if kind != "image":
        return "float"
    if split.in_memory:
        return "png" if png_encodable(split.load()[0]) else "float"
    return "png"  # decoded image files: 0..255, rounded to uint8 when re-encoded


def _records(part: Split, fmt: RecordFormat) -> tf.data.Dataset:
    """(features, label) of each example as written: PNG bytes encoded by a parallel map,
    or float values."""
    examples = part.batches(_BATCH).unbatch()
    if fmt.encoding != "png":
        return examples
    return examples.map(
        lambda x, y: (tf.io.encode_png(tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)),
                      y),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _write_shard(path: str, part: Split, fmt: RecordFormat, bar: tqdm) -> None:
    """Write one shard under a temporary name, then rename it to ``path``."""
    tmp = f"{path}.tmp"
    with tf.io.TFRecordWriter(tmp, tf.io.TFRecordOptions(compression_type=COMPRESSION)) as out:
        for x, y in _records(part, fmt).as_numpy_iterator():
            out.write(fmt.serialize(x, y))
            bar.update(1)
    tf.io.gfile.rename(tmp, path, overwrite=True)


def _staging(out: str, source: dict) -> str:
    """The staging folder of ``out``: reused if it converts the same ``source``, else
    started anew (it is this command's own: its name and source.json say so)."""
    parent, _, name = out.rstrip("/").rpartition("/")
    staging = f"{parent or '.'}/.{name}.partial"
    marker = f"{staging}/{_SOURCE_FILE}"
    if tf.io.gfile.exists(staging):
        same = tf.io.gfile.exists(marker) and json.loads(
            tf.io.gfile.GFile(marker).read()) == source
        if same:
            return staging
        if not tf.io.gfile.exists(marker):
            raise DataError(f"{staging}: exists and was not made by `bigmodel data convert`; "
                            "move it away")
        tf.io.gfile.rmtree(staging)
    tf.io.gfile.makedirs(staging)
    with tf.io.gfile.GFile(marker, "w") as file:
        file.write(json.dumps(source))
    return staging


def convert_to_tfrecord(cfg: ExperimentConfig, out_dir: str) -> str:
    """Write data.name's train/val/test splits as data.shards GZIP shards each + spec.json
    (resuming an interrupted conversion of the same data); returns the folder."""
    out = str(out_dir).rstrip("/")
    if tf.io.gfile.exists(out) and (not tf.io.gfile.isdir(out) or tf.io.gfile.listdir(out)):
        raise DataError(f"{out}: already exists and is not an empty folder; choose a new one")
    if cfg.data.name == "tfrecord":
        raise ConfigError("data.name=tfrecord: the data is a TFRecord folder already")
    splits = load_splits(cfg)
    spec = splits.spec
    fmt = RecordFormat(tuple(spec.input_shape), _encoding(splits.train, spec.kind),
                       spec.task == "regression")
    source = {"seed": cfg.seed, "data": select(to_dict(cfg), keys_with("data")),
              "encoding": fmt.encoding}
    staging = _staging(out, source)
    shards = cfg.data.shards
    total = sum(getattr(splits, s).size for s in SPLIT_NAMES)
    with tqdm(total=total, desc="converting", unit=" examples", disable=None) as bar:
        for split in SPLIT_NAMES:
            part = getattr(splits, split)
            for index, rows in enumerate(np.array_split(np.arange(part.size), shards)):
                path = f"{staging}/{shard_name(split, index, shards)}"
                if tf.io.gfile.exists(path):  # finished by an earlier, interrupted run
                    bar.update(len(rows))
                    continue
                _write_shard(path, part.subset(rows), fmt, bar)
    meta = {
        **dataclasses.asdict(spec),
        "split_sizes": {s: getattr(splits, s).size for s in SPLIT_NAMES},
        "shards": shards,
        "encoding": fmt.encoding,
        "source": {"seed": cfg.seed, "data": to_dict(cfg.data)},
    }
    with tf.io.gfile.GFile(f"{staging}/{SPEC_FILE}", "w") as file:
        file.write(json.dumps(meta, indent=2))
    tf.io.gfile.remove(f"{staging}/{_SOURCE_FILE}")
    _publish(staging, out)
    return out


def _publish(staging: str, out: str) -> None:
    """Move the finished folder to ``out``: one rename on a local disk; on an object store
    (no folder renames) file by file, spec.json last, so that a reader never finds a
    spec.json beside missing shards."""
    if tf.io.gfile.exists(out):
        tf.io.gfile.rmtree(out)  # empty (checked above); rename cannot replace a folder
    if "://" not in out:
        tf.io.gfile.rename(staging, out)
        return
    tf.io.gfile.makedirs(out)
    names = sorted(tf.io.gfile.listdir(staging), key=lambda name: name == SPEC_FILE)
    for name in names:
        tf.io.gfile.rename(f"{staging}/{name}", f"{out}/{name}")
    tf.io.gfile.rmtree(staging)
