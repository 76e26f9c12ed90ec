"""A CSV file as a stream: its rows read in chunks, encoded into float32 feature vectors.

``records`` reads a CSV file, local or remote (``tf.io.gfile``), one row at a time with
Python's csv module, so a quoted field may span lines and every row keeps its file line;
blank rows are skipped. ``CsvSplit`` is one split of the file: the numbers of its rows
(0-based among the data rows) and their labels, known from the scan (csv_source.py).
Its batches come from one sequential read of the file that encodes the split's rows a
batch at a time (``Encoding``), so only one batch of features is in memory at once,
whatever the size of the file. The rows of a split keep their file order; training
permutes them in blocks of data.shuffle_buffer rows (order.py).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bigmodel_tf.data.split import Split
from bigmodel_tf.errors import DataError


def _lines(path: str) -> Iterator[str]:
    """The lines of a UTF-8 text file (a spreadsheet's byte-order mark dropped)."""
    with tf.io.gfile.GFile(path, "r") as handle:
        first = True
        for line in handle:
            yield line.removeprefix("\ufeff") if first else line
            first = False


def records(path: str) -> Iterator[tuple[int, list[str]]]:
    """(file line, fields) of every non-blank row of a CSV file, the header first."""
    reader = csv.reader(_lines(path))
    start = 1  # the line a row starts on: a quoted field may span lines
    try:
        for row in reader:
            if any(value.strip() for value in row):
                yield start, row
            start = reader.line_num + 1
    except tf.errors.NotFoundError:
        raise DataError(f"data.path={path}: file not found") from None
    except (OSError, UnicodeDecodeError, tf.errors.OpError) as exc:
        raise DataError(f"data.path={path}: cannot be read ({exc.__class__.__name__})") from None
    except csv.Error as exc:
        where = f"data.path={path}: line {reader.line_num}"
        raise DataError(f"{where}: not valid CSV ({exc})") from None


@dataclass(frozen=True)
class Encoding:
    """How a row's cells become its feature vector: numeric columns as they are, each
    categorical column one-hot over its sorted values, in header order."""

    path: str
    header: tuple[str, ...]
    label: str
    numeric: frozenset[str]
    categories: dict[str, tuple[str, ...]]

    @property
    def width(self) -> int:
        """Features per row."""
        return sum(len(self.categories[name]) if name in self.categories else 1
                   for name in self.header if name != self.label)

    def features(self, rows: list[list[str]]) -> np.ndarray:
        """The float32 feature vectors of ``rows`` (fields in header order)."""
        columns = []
        for j, name in enumerate(self.header):
            if name == self.label:
                continue
            cells = [row[j].strip() for row in rows]
            if name in self.numeric:  # parsed as Python's float, then rounded to float32
                columns.append(np.array(cells, dtype=np.float64).astype(np.float32)[:, None])
            else:
                vocabulary = np.asarray(self.categories[name])
                columns.append((np.asarray(cells)[:, None] == vocabulary).astype(np.float32))
        return np.concatenate(columns, axis=1)


@dataclass(frozen=True, eq=False)
class CsvSplit(Split):
    """Rows of a CSV file (``rows``: their sorted numbers among the data rows) with their
    labels, read from the file batch by batch."""

    encoding: Encoding
    rows: np.ndarray
    labels: np.ndarray
    checked = True  # csv_source.scan read every cell

    @property
    def size(self) -> int:
        """Number of rows."""
        return len(self.rows)

    @property
    def example_shape(self) -> tuple[int, ...]:
        """One row's feature vector."""
        return (self.encoding.width,)

    @property
    def y(self) -> np.ndarray:
        """The labels, in file order."""
        return self.labels

    def _chunks(self, batch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(features, labels) of the split's rows, ``batch`` at a time, in file order."""
        wanted = np.zeros(int(self.rows[-1]) + 1 if self.size else 0, bool)
        wanted[self.rows] = True
        data_rows = records(self.encoding.path)
        next(data_rows, None)  # the header
        chunk, done = [], 0
        for index, (_, row) in enumerate(data_rows):
            if index >= len(wanted):
                break
            if wanted[index]:
                chunk.append(row)
            if len(chunk) == batch:
                yield self.encoding.features(chunk), self.labels[done:done + batch]
                chunk, done = [], done + batch
        if chunk:
            yield self.encoding.features(chunk), self.labels[done:done + len(chunk)]

    def batches(self, batch, parallel=tf.data.AUTOTUNE, shard=None):
        """The split's rows in file order as (x, y) batches (one file, never FILE-sharded)."""
        label_dtype = tf.float32 if self.labels.dtype.kind == "f" else tf.int32
        signature = (tf.TensorSpec([None, self.encoding.width], tf.float32),
                     tf.TensorSpec([None], label_dtype))
        stream = tf.data.Dataset.from_generator(lambda: self._chunks(batch),
                                                output_signature=signature)
        # a file that lost rows since it was scanned fails when the pass ends
        return stream.apply(tf.data.experimental.assert_cardinality(-(-self.size // batch)))

    def subset(self, indices: np.ndarray) -> CsvSplit:
        """The rows at ``indices`` of this split, in file order."""
        rows = self.rows[indices]
        order = np.argsort(rows, kind="stable")
        labels = self.labels[indices][order]
        labels.flags.writeable = False
        return CsvSplit(self.encoding, rows[order], labels)
