"""The TFRecord folder format: GZIP shards per split plus spec.json — the big-data format.

Layout (written by ``convert.convert_to_tfrecord``), on a local path or any URL
``tf.io.gfile`` knows (gs://, s3:// with its plug-in, hdfs://, ram://)::

    train-00000-of-00004.tfrecord.gz ...  val-... test-...
    spec.json   the DataSpec fields (train-split statistics included), split_sizes,
                shards, encoding and the source config

Each record is a ``tf.train.Example`` with the label ``y`` (the class id as int64, or the
regression target as float) and the features: ``image``, one PNG of uint8 pixels
(``encoding: png``, images whose values are whole numbers in 0..255), or ``x``, the
flattened float32 values (``encoding: float``: tabular rows and other images; a spec.json
without ``encoding`` is float). Float records are parsed a batch at a time with
``tf.io.parse_example`` (per-example parsing is several times slower); PNG records are
decoded one by one by a parallel map.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.data.split import StreamedSplit
from bigmodel_tf.errors import DataError

SPLIT_NAMES = ("train", "val", "test")
SPEC_FILE = "spec.json"
COMPRESSION = "GZIP"
_LABEL_BATCH = 4096  # records per parse when reading the labels alone


def shard_name(split: str, index: int, count: int) -> str:
    """File name of one shard, e.g. train-00000-of-00004.tfrecord.gz."""
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord.gz"


def png_encodable(x: np.ndarray) -> bool:
    """Whether images can be stored as PNG without loss: whole numbers in 0..255."""
    return x.ndim == 4 and x.shape[-1] in (1, 2, 3, 4) and bool(
        x.size and x.min() >= 0 and x.max() <= 255 and np.all(np.mod(x, 1) == 0))


@dataclass(frozen=True)
class RecordFormat:
    """How one folder's records hold their features and labels (from its spec.json)."""

    input_shape: tuple[int, ...]
    encoding: str = "float"  # "float" or "png"
    regression: bool = False

    @classmethod
    def of(cls, meta: dict) -> RecordFormat:
        """The format a spec.json describes."""
        return cls(tuple(meta["input_shape"]), meta.get("encoding", "float"),
                   meta.get("task") == "regression")

    def _label_feature(self) -> tf.io.FixedLenFeature:
        return tf.io.FixedLenFeature([], tf.float32 if self.regression else tf.int64)

    def _label(self, y: tf.Tensor) -> tf.Tensor:
        return y if self.regression else tf.cast(y, tf.int32)

    def serialize(self, x: np.ndarray | bytes, y) -> bytes:
        """One example as a serialized tf.train.Example (``x``: PNG bytes for png)."""
        label = (tf.train.Feature(float_list=tf.train.FloatList(value=[float(y)]))
                 if self.regression else
                 tf.train.Feature(int64_list=tf.train.Int64List(value=[int(y)])))
        features = ({"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[x]))}
                    if self.encoding == "png" else
                    # A Python list fills the proto faster than a NumPy array does.
                    {"x": tf.train.Feature(float_list=tf.train.FloatList(
                        value=np.asarray(x).reshape(-1).tolist()))})
        return tf.train.Example(features=tf.train.Features(
            feature={**features, "y": label})).SerializeToString()

    def parse_batch(self, serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Parse a batch of serialized examples into (x float32 [b, *shape], y [b])."""
        if self.encoding == "png":
            parsed = tf.io.parse_example(serialized, {"image": tf.io.FixedLenFeature([], tf.string),
                                                      "y": self._label_feature()})
            x = tf.map_fn(self._decode, parsed["image"],
                          fn_output_signature=tf.TensorSpec(self.input_shape, tf.float32))
            return x, self._label(parsed["y"])
        parsed = tf.io.parse_example(serialized, {
            "x": tf.io.FixedLenFeature([math.prod(self.input_shape)], tf.float32),
            "y": self._label_feature()})
        return tf.reshape(parsed["x"], [-1, *self.input_shape]), self._label(parsed["y"])

    def _decode(self, png: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_png(png, channels=self.input_shape[-1], dtype=tf.uint8)
        return tf.ensure_shape(tf.cast(image, tf.float32), self.input_shape)

    def _parse_one(self, serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        parsed = tf.io.parse_single_example(serialized, {
            "image": tf.io.FixedLenFeature([], tf.string), "y": self._label_feature()})
        return self._decode(parsed["image"]), self._label(parsed["y"])

    def read(self, files: list[str], labels, parallel: int | None,
             batch: int) -> tf.data.Dataset:
        """(x, y) batches of the records of ``files``, one file after another (the written
        order); PNG records are decoded by a parallel map, float records parsed per batch.
        (``labels`` is unused: records hold theirs; split.StreamedSplit's reader contract.)"""
        records = records_of(files)
        if self.encoding == "png":
            return records.map(self._parse_one, num_parallel_calls=parallel,
                               deterministic=True).batch(batch)
        return records.batch(batch).map(self.parse_batch, num_parallel_calls=parallel)

    def read_labels(self, files: list[str]) -> np.ndarray:
        """Every label of ``files``' records in order, the features left unparsed."""
        parse = (lambda r: self._label(  # noqa: E731
            tf.io.parse_example(r, {"y": self._label_feature()})["y"]))
        parts = [y.numpy() for y in records_of(files).batch(_LABEL_BATCH).map(parse)]
        dtype = np.float32 if self.regression else np.int32
        return np.concatenate(parts).astype(dtype) if parts else np.zeros((0,), dtype)


def records_of(files: list[str]) -> tf.data.Dataset:
    """The serialized records of GZIP shard files, read one file after another.

    Sequential reading keeps the written order (the order of the converted split), so a
    TFRecord pipeline yields exactly the batches the in-memory one does; parallel
    interleave measured slower on 2 cores (docs/architecture.md).
    """
    return tf.data.Dataset.from_tensor_slices(list(files)).interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type=COMPRESSION), cycle_length=1)


def read_meta(folder: str) -> dict:
    """The contents of a TFRecord folder's spec.json (DataError when missing or invalid)."""
    path = f"{str(folder).rstrip('/')}/{SPEC_FILE}"
    try:
        with tf.io.gfile.GFile(path, "r") as file:
            meta = json.loads(file.read())
    except tf.errors.NotFoundError:
        raise DataError(
            f"data.path={folder}: not a TFRecord folder written by `bigmodel data` "
            f"(no {SPEC_FILE})"
        ) from None
    except (tf.errors.OpError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = op_error_reason(exc) if isinstance(exc, tf.errors.OpError) else exc
        raise DataError(f"data.path={folder}: {SPEC_FILE} is unreadable ({reason})") from None
    if not isinstance(meta, dict) or "split_sizes" not in meta:
        raise DataError(f"data.path={folder}: {SPEC_FILE} has no split_sizes")
    return meta


def spec_from_meta(meta: dict) -> DataSpec:
    """The DataSpec stored in a spec.json."""
    names = {f.name for f in dataclasses.fields(DataSpec)}
    return DataSpec(**{k: v for k, v in meta.items() if k in names})


_SHARD = re.compile(r"-(\d+)-of-(\d+)\.tfrecord\.gz$")


def shard_files(folder: str, split: str) -> list[str]:
    """The sorted shard paths of one split (DataError when there are none, or when they
    are not one complete set: 00000..N-1 of N)."""
    pattern = f"{str(folder).rstrip('/')}/{split}-*-of-*.tfrecord.gz"
    try:
        files = sorted(tf.io.gfile.glob(pattern))
    except tf.errors.OpError as exc:
        raise DataError(f"data.path={folder}: cannot list the shards ({op_error_reason(exc)})"
                        ) from None
    if not files:
        raise DataError(f"data.path={folder}: no {split} shards ({split}-*.tfrecord.gz)")
    numbers = [tuple(int(n) for n in m.groups()) for f in files if (m := _SHARD.search(f))]
    counts = {count for _, count in numbers}
    if len(counts) != 1 or sorted(i for i, _ in numbers) != list(range(counts.pop())):
        raise DataError(f"data.path={folder}: the {split} shards are not one complete set "
                        f"({len(files)} files: {', '.join(f.rsplit('/', 1)[-1] for f in files[:3])}"
                        f"{' ...' if len(files) > 3 else ''})")
    return files


def op_error_reason(exc: tf.errors.OpError) -> str:
    """The readable part of a TensorFlow error: no function-node prefix or op suffix."""
    text = exc.message.splitlines()[0] if exc.message else type(exc).__name__
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    return text.split(" [Op:")[0].strip() or type(exc).__name__


def record_splits(folder: str) -> tuple[DataSpec, dict[str, StreamedSplit]]:
    """The spec and the three streamed splits of a TFRecord folder; only spec.json and the
    shard listing are read (the records are read when a split is streamed)."""
    meta = read_meta(folder)
    spec, fmt = spec_from_meta(meta), RecordFormat.of(meta)
    splits = {}
    for split in SPLIT_NAMES:
        files = shard_files(folder, split)
        if meta.get("shards") not in (None, len(files)):
            raise DataError(f"data.path={folder}: {len(files)} {split} shards, {SPEC_FILE} "
                            f"says {meta['shards']}")
        size = int(meta["split_sizes"].get(split, -1))
        if size < 0:
            raise DataError(f"data.path={folder}: {SPEC_FILE} has no {split} split size")
        splits[split] = StreamedSplit(tuple(files), fmt.input_shape, fmt.read, size,
                                      read_labels=fmt.read_labels)
    return spec, splits
