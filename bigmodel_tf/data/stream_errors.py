"""A file that breaks a stream, named: TensorFlow's error says what failed, not where.

A corrupt shard or image met while a split is streamed (in the statistics pass, in
training or in evaluation) raises a TensorFlow ``OpError`` that names no file. Inside
``stream_errors(data)`` such an error is followed by a scan of the source's files, one at a
time, and becomes a ``DataError`` naming the first bad file and what is wrong with it; an
error the scan cannot place in a file is re-raised as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf

from bigmodel_tf.config import DataConfig
from bigmodel_tf.data import csv_source, image_dir, salvage, tfrecord_io
from bigmodel_tf.errors import DataError

# What reading or decoding bad data raises (a cardinality check fails with FailedPrecondition,
# PIL inside a numpy_function with Unknown); out-of-memory and the like are not scanned for.
_DATA_ERRORS = (tf.errors.DataLossError, tf.errors.InvalidArgumentError, tf.errors.UnknownError,
                tf.errors.NotFoundError, tf.errors.FailedPreconditionError)


def _first_bad_shard(folder: str) -> DataError | None:
    """The first shard of a TFRecord folder with unreadable or invalid records."""
    meta = tfrecord_io.read_meta(folder)
    spec, fmt = tfrecord_io.spec_from_meta(meta), tfrecord_io.RecordFormat.of(meta)
    for split in tfrecord_io.SPLIT_NAMES:
        files = tfrecord_io.shard_files(folder, split)
        expected = salvage.expected_sizes(files, int(meta["split_sizes"].get(split, 0)))
        for path, count in zip(files, expected, strict=True):
            report = salvage.salvage_shard(path, count, spec, fmt)[2]
            if report.problems or report.bad:
                problems = "; ".join(report.problems) or (
                    f"holds {report.good} of the {count} records {tfrecord_io.SPEC_FILE} says")
                return DataError(f"data.path: corrupt TFRecord shard {path} ({problems})")
    return None


def _first_bad_image(data: DataConfig) -> DataError | None:
    """The first image of an image folder that cannot be read."""
    height, width = data.image_size
    for images in image_dir.class_files(data.path).values():
        for path in images:
            try:
                image_dir.check_file(path, data.channels, height, width)
            except DataError as exc:
                return exc
    return None


def _csv_problem(data: DataConfig) -> DataError | None:
    """What is wrong with a CSV file now (it changed since it was scanned)."""
    try:
        table = csv_source.scan(data)
    except DataError as exc:
        return exc
    if table.bad:
        return table.error()
    return DataError(f"data.path={data.path}: the file changed while it was read "
                     f"(it now has {table.rows} data rows); run the command again")


@contextlib.contextmanager
def stream_errors(data: DataConfig) -> Iterator[None]:
    """Turn a TensorFlow error met while streaming ``data`` into a DataError naming the file."""
    try:
        yield
    except _DATA_ERRORS:
        scan = {"tfrecord": lambda: _first_bad_shard(data.path),
                "image_dir": lambda: _first_bad_image(data),
                "csv": lambda: _csv_problem(data)}.get(data.name)
        found = scan() if scan else None
        if found is None:
            raise
        raise found from None
