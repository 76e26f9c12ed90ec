"""The TFRecord folder format: GZIP shards per split plus spec.json.

Layout (written by ``convert.convert_to_tfrecord``)::

    train-00000-of-00004.tfrecord.gz ...  val-... test-...
    spec.json   the DataSpec fields + split_sizes + the source config

Each record is a ``tf.train.Example`` with ``x`` (the example's features, flattened,
float32) and ``y`` (the class id, int64). Records are parsed a batch at a time with
``tf.io.parse_example``: per-example parsing is several times slower.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from bigmodel_tf.data.raw import check_values
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import DataError

SPLIT_NAMES = ("train", "val", "test")
SPEC_FILE = "spec.json"
COMPRESSION = "GZIP"
_READ_BATCH = 4096  # records parsed per call when loading a split into memory


def shard_name(split: str, index: int, count: int) -> str:
    """File name of one shard, e.g. train-00000-of-00004.tfrecord.gz."""
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord.gz"


def _serialize(x: np.ndarray, y: int) -> bytes:
    """One example as a serialized tf.train.Example."""
    feature = {
        # A Python list fills the proto faster than a NumPy array does.
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=x.reshape(-1).tolist())),
        "y": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(y)])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_split(folder: Path, split: str, x: np.ndarray, y: np.ndarray, shards: int) -> None:
    """Write one split as ``shards`` GZIP shards of consecutive examples (order kept), with
    a progress bar on a terminal."""
    options = tf.io.TFRecordOptions(compression_type=COMPRESSION)
    with tqdm(total=len(y), desc=f"writing {split}", unit=" examples", disable=None) as bar:
        for index, part in enumerate(np.array_split(np.arange(len(y)), shards)):
            with tf.io.TFRecordWriter(str(folder / shard_name(split, index, shards)),
                                      options) as writer:
                for i in part:
                    writer.write(_serialize(x[i], y[i]))
                bar.update(len(part))


def parse_batch(serialized: tf.Tensor, input_shape: list[int]) -> tuple[tf.Tensor, tf.Tensor]:
    """Parse a batch of serialized examples into (x float32 [b, *shape], y int32 [b])."""
    features = tf.io.parse_example(
        serialized,
        {
            "x": tf.io.FixedLenFeature([math.prod(input_shape)], tf.float32),
            "y": tf.io.FixedLenFeature([], tf.int64),
        },
    )
    x = tf.reshape(features["x"], [-1, *input_shape])
    return x, tf.cast(features["y"], tf.int32)


def read_meta(folder: str | Path) -> dict:
    """The contents of a TFRecord folder's spec.json (DataError when missing or invalid)."""
    path = Path(folder) / SPEC_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"data.path={folder}: not a TFRecord folder written by `bigmodel data` "
            f"(no {SPEC_FILE})"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"data.path={folder}: {SPEC_FILE} is unreadable ({exc})") from None
    if not isinstance(meta, dict) or "split_sizes" not in meta:
        raise DataError(f"data.path={folder}: {SPEC_FILE} has no split_sizes")
    return meta


def spec_from_meta(meta: dict) -> DataSpec:
    """The DataSpec stored in a spec.json."""
    names = {f.name for f in dataclasses.fields(DataSpec)}
    return DataSpec(**{k: v for k, v in meta.items() if k in names})


def shard_files(folder: str | Path, split: str) -> list[str]:
    """The sorted shard paths of one split (DataError when there are none)."""
    files = sorted(str(p) for p in Path(folder).glob(f"{split}-*-of-*.tfrecord.gz"))
    if not files:
        raise DataError(f"data.path={folder}: no {split} shards ({split}-*.tfrecord.gz)")
    return files


def op_error_reason(exc: tf.errors.OpError) -> str:
    """The readable part of a TensorFlow error: no function-node prefix or op suffix."""
    text = exc.message.splitlines()[0] if exc.message else type(exc).__name__
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    return text.split(" [Op:")[0].strip() or type(exc).__name__


def _read_shard(path: str, input_shape: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """All examples of one shard in memory; corruption is a DataError naming the file."""
    records = tf.data.TFRecordDataset(path, compression_type=COMPRESSION).batch(_READ_BATCH)
    xs, ys = [np.zeros((0, *input_shape), np.float32)], [np.zeros((0,), np.int32)]
    try:
        for serialized in records:
            x, y = parse_batch(serialized, input_shape)
            xs.append(x.numpy())
            ys.append(y.numpy())
    except tf.errors.OpError as exc:
        raise DataError(
            f"data.path: corrupt TFRecord shard {path} ({op_error_reason(exc)})"
        ) from None
    return np.concatenate(xs), np.concatenate(ys)


def read_splits(folder: str | Path) -> tuple[DataSpec, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Read a TFRecord folder back into its spec and (x, y) arrays per split, in order."""
    meta = read_meta(folder)
    spec = spec_from_meta(meta)
    arrays = {}
    for split in SPLIT_NAMES:
        parts = [_read_shard(f, spec.input_shape) for f in shard_files(folder, split)]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        expected = meta["split_sizes"].get(split)
        if len(y) != expected:
            raise DataError(
                f"data.path={folder}: the {split} shards hold {len(y)} examples, "
                f"{SPEC_FILE} says {expected}"
            )
        check_values(x, f"data.path={folder} ({split} split)", spec.feature_names)
        if len(y) and (y.min() < 0 or y.max() >= spec.num_classes):
            raise DataError(
                f"data.path={folder}: {split} labels outside 0..{spec.num_classes - 1}"
            )
        arrays[split] = (x, y)
    return spec, arrays
