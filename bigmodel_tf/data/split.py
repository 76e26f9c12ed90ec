"""One split of a data set: its size, its labels and a stream of (x, y) batches.

A split never holds more than its labels unless it is a small in-memory set: the features
are read batch by batch from wherever they live.

- ``ArraySplit``: features in memory (the embedded sets: digits, iris, CSV files, ...);
- ``StreamedSplit``: files, local or remote (``tf.io.gfile``): TFRecord shards
  (``tfrecord_io``) or image files listed by ``image_dir``, decoded in the pipeline.

``batches(batch, parallel, shard)`` yields raw (unnormalized) float32 features and int32
class ids (float32 regression targets) in the split's stored order, so a pipeline built
on it is a function of (seed, epoch) alone (order.py); ``shard=(index, count)`` reads
every count-th file only (FILE auto-sharding, file-backed splits). ``head(n)`` reads the
first n examples (x, y) into memory (warm-up records, probes, interpretation); ``load()`` the
whole split (what needs every feature at once: SMOTE, the TFLite checks).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf


class Split(ABC):
    """One split: ``size`` examples of ``example_shape``, their labels ``y`` and their
    features as a stream."""

    size: int
    example_shape: tuple[int, ...]
    in_memory: bool = False  # the features are held in memory (ArraySplit)
    checked: bool = False  # every example was read and checked when the split was made

    @property
    @abstractmethod
    def y(self) -> np.ndarray:
        """Every label of the split, in its stored order (int32 ids or float32 targets)."""

    @abstractmethod
    def batches(self, batch: int, parallel: int | None = tf.data.AUTOTUNE,
                shard: tuple[int, int] | None = None) -> tf.data.Dataset:
        """(x, y) batches in stored order; ``shard`` = (index, count) of the files to read."""

    def files(self) -> list[str] | None:
        """The files the split is read from (None: not file-backed)."""
        return None

    def head(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Features and labels of the first ``count`` examples (fewer if the split is
        smaller)."""
        count = min(count, self.size)
        if count <= 0:
            return np.zeros((0, *self.example_shape), np.float32), self.y[:0]
        x, y = next(iter(self.batches(count, parallel=None)))
        return x.numpy(), y.numpy()

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """Every feature and label of the split in memory (only for what needs them all)."""
        parts = [(x.numpy(), y.numpy()) for x, y in self.batches(4096)]
        if not parts:
            return np.zeros((0, *self.example_shape), np.float32), self.y[:0]
        return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


@dataclass(frozen=True)
class ArraySplit(Split):
    """A split in memory: raw float32 features and their labels (read-only arrays)."""

    x: np.ndarray
    labels: np.ndarray
    in_memory = True

    def __post_init__(self):
        x = np.ascontiguousarray(self.x, dtype=np.float32)
        labels = self.labels
        y = np.ascontiguousarray(labels, dtype=np.float32 if labels.dtype.kind == "f" else np.int32)
        x.flags.writeable = False
        y.flags.writeable = False
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "labels", y)

    @property
    def size(self) -> int:
        """Number of examples."""
        return len(self.labels)

    @property
    def example_shape(self) -> tuple[int, ...]:
        """The shape of one example's features."""
        return self.x.shape[1:]

    @property
    def y(self) -> np.ndarray:
        """The labels."""
        return self.labels

    def batches(self, batch, parallel=tf.data.AUTOTUNE, shard=None):
        """The arrays as batches (one tensor of the whole split, sliced)."""
        return tf.data.Dataset.from_tensor_slices((self.x, self.labels)).batch(batch)

    def head(self, count):
        """The first ``count`` examples (views)."""
        return self.x[:count], self.labels[:count]

    def load(self):
        """The arrays themselves."""
        return self.x, self.labels

    def subset(self, indices: np.ndarray) -> ArraySplit:
        """The examples at ``indices``, in that order."""
        return ArraySplit(self.x[indices], self.labels[indices])


@dataclass(frozen=True, eq=False)
class StreamedSplit(Split):
    """A split read from files: ``read(files, labels, parallel, batch)`` turns a list of
    files into parsed (x, y) batches. Image files are one example each, their labels known
    from the listing (and given to ``read``); TFRecord shards hold their labels, read once
    without the features by ``read_labels(files)`` when asked for (``labels`` is None)."""

    paths: tuple[str, ...]  # the files, in the split's order
    example_shape: tuple[int, ...]
    read: Callable[[list[str], np.ndarray | None, int | None, int], tf.data.Dataset]
    size: int
    known_labels: np.ndarray | None = None
    read_labels: Callable[[list[str]], np.ndarray] | None = None
    file_per_example: bool = False  # each path is one example (image files)

    @property
    def y(self) -> np.ndarray:
        """The labels: known from the listing, or read once in a pass over the split."""
        if self.known_labels is None:
            labels = self.read_labels(list(self.paths))
            labels.flags.writeable = False
            object.__setattr__(self, "known_labels", labels)
        return self.known_labels

    def files(self):
        """The files: TFRecord shards, or one image file per example."""
        return list(self.paths)

    def batches(self, batch, parallel=tf.data.AUTOTUNE, shard=None):
        """Read the (sharded) files in order and parse them into batches."""
        paths = list(self.paths)
        labels = self.known_labels if self.file_per_example else None
        if shard is not None:
            paths = paths[shard[0]::shard[1]]
            labels = None if labels is None else labels[shard[0]::shard[1]]
            return self.read(paths, labels, parallel, batch)
        # the known size: Keras counts the steps, and a shard that holds fewer or more
        # records than spec.json says fails when the pass ends
        return self.read(paths, labels, parallel, batch).apply(
            tf.data.experimental.assert_cardinality(-(-self.size // batch)))

    def subset(self, indices: np.ndarray) -> StreamedSplit:
        """The examples at ``indices`` (one-file-per-example splits only)."""
        if not self.file_per_example:
            raise ValueError("a record split cannot be subset by example")
        labels = self.y[indices]
        return StreamedSplit(tuple(np.asarray(self.paths, dtype=object)[indices]),
                             self.example_shape, self.read, len(labels), labels,
                             file_per_example=True)
