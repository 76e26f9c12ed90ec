"""Reading TFRecord shards record by record, keeping what is readable and counting the rest.

The fast reader (tfrecord_io) parses batches of 4096 records and stops at the first
error, naming the shard. ``data.skip_corrupt=true`` and ``bigmodel data validate`` use this
slower one instead: it reads a shard one record at a time up to the first unreadable
byte (a GZIP or CRC error or a truncation loses the rest of that shard), parses the
records one batch at a time and, when a batch fails, one by one, and drops records whose
features are NaN, infinite or beyond ±1.8e19 (``raw.FEATURE_LIMIT``) or whose label is not
a known class. Each shard gets a ``ShardReport``: how many records it should hold (from
spec.json's split size and the shard's index, as ``convert`` divided them), how many
were good, and why the others were not.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from bigmodel_tf.data.raw import usable_values
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.data.tfrecord_io import (
    SPLIT_NAMES,
    RecordFormat,
    op_error_reason,
    read_meta,
    shard_files,
    spec_from_meta,
)
from bigmodel_tf.errors import DataError

log = logging.getLogger("bigmodel_tf.data")

_PARSE_BATCH = 1024
_SHARD_NAME = re.compile(r"-(\d+)-of-(\d+)\.tfrecord\.gz$")


@dataclass
class ShardReport:
    """What one shard held: expected and good record counts and the problems found."""

    path: str
    expected: int
    good: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        """Records expected but not kept (unreadable, unparsable, NaN/inf or bad label)."""
        return max(self.expected - self.good, 0)


def expected_sizes(files: list[str], split_size: int) -> list[int]:
    """Records per shard as convert divided the split (np.array_split)."""
    counts = {int(m.group(2)) for f in files if (m := _SHARD_NAME.search(f))}
    count = counts.pop() if len(counts) == 1 else len(files)
    sizes = [len(part) for part in np.array_split(np.arange(split_size), count)]
    indices = [int(m.group(1)) if (m := _SHARD_NAME.search(f)) else i
               for i, f in enumerate(files)]
    return [sizes[i] if i < len(sizes) else 0 for i in indices]


def _readable_records(path: str, report: ShardReport) -> list[bytes]:
    """Serialized records up to the first unreadable one."""
    records = []
    iterator = iter(tf.data.TFRecordDataset(path, compression_type="GZIP"))
    while True:
        try:
            records.append(next(iterator).numpy())
        except StopIteration:
            return records
        except tf.errors.OpError as exc:
            report.problems.append(
                f"unreadable after record {len(records)} ({op_error_reason(exc)})"
            )
            return records


def _parse(records: list[bytes], fmt: RecordFormat, report: ShardReport):
    """(x, y) of the records that parse; a failing batch is parsed record by record."""
    xs, ys, failed = [], [], 0
    for start in range(0, len(records), _PARSE_BATCH):
        chunk = records[start:start + _PARSE_BATCH]
        try:
            x, y = fmt.parse_batch(tf.constant(chunk))
            xs.append(x.numpy())
            ys.append(y.numpy())
            continue
        except tf.errors.OpError:
            pass
        for record in chunk:
            try:
                x, y = fmt.parse_batch(tf.constant([record]))
            except tf.errors.OpError:
                failed += 1
                continue
            xs.append(x.numpy())
            ys.append(y.numpy())
    if failed:
        report.problems.append(f"{failed} record(s) are not valid examples of this spec")
    x = np.concatenate(xs) if xs else np.zeros((0, *fmt.input_shape), np.float32)
    y = np.concatenate(ys) if ys else np.zeros((0,), np.int32)
    return x, y


def _valid(x: np.ndarray, y: np.ndarray, spec: DataSpec, report: ShardReport) -> np.ndarray:
    """Mask of the examples with usable features and a known label; counts the others."""
    finite = usable_values(x.reshape(len(x), int(np.prod(x.shape[1:])))).all(axis=1)
    known = (y >= 0) & (y < spec.num_classes)
    if (~finite).any():
        rows = np.flatnonzero(~finite)
        report.problems.append(
            f"{len(rows)} record(s) with NaN, infinite or out-of-range features "
            f"(records {rows[:5].tolist()})"
        )
    if (~known).any():
        rows = np.flatnonzero(~known)
        report.problems.append(
            f"{len(rows)} record(s) with a label outside 0..{spec.num_classes - 1} "
            f"(records {rows[:5].tolist()})"
        )
    return finite & known


def salvage_shard(path: str, expected: int, spec: DataSpec, fmt: RecordFormat):
    """(x, y, report) of one shard of format ``fmt``: every good example, and what was
    wrong with the rest."""
    report = ShardReport(path, expected)
    x, y = _parse(_readable_records(path, report), fmt, report)
    keep = _valid(x, y, spec, report)
    report.good = int(keep.sum())
    if report.good > expected:
        report.problems.append(f"holds {report.good} records, {expected} expected")
    return x[keep], y[keep], report


def salvage_split(files: list[str], split_size: int, spec: DataSpec, fmt: RecordFormat):
    """(x, y, reports) of one split's shards, read as far as they are readable."""
    parts = [salvage_shard(f, n, spec, fmt) for f, n in zip(
        files, expected_sizes(files, split_size), strict=True)]
    x = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, *spec.input_shape))
    y = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0,), np.int32)
    return x.astype(np.float32), y.astype(np.float32 if fmt.regression else np.int32), [
        p[2] for p in parts]


def read_splits_skipping(folder: str, max_fraction: float):
    """The splits of a TFRecord folder in memory, skipping bad records
    (data.skip_corrupt=true: the kept records are held in memory).

    Raises DataError, naming the first bad shard, when more than ``max_fraction`` of a
    split's records are bad; else logs how many were skipped in which files.
    """
    meta = read_meta(folder)
    spec, fmt = spec_from_meta(meta), RecordFormat.of(meta)
    arrays = {}
    for split in SPLIT_NAMES:
        expected = int(meta["split_sizes"].get(split, 0))
        x, y, reports = salvage_split(shard_files(folder, split), expected, spec, fmt)
        bad = [r for r in reports if r.bad or r.problems]
        skipped = sum(r.bad for r in reports)
        if expected and skipped / expected > max_fraction:
            raise DataError(
                f"data.path={folder}: {skipped} of {expected} {split} records are corrupt "
                f"({skipped / expected:.1%}), more than data.max_corrupt_fraction="
                f"{max_fraction:g}; first in {bad[0].path} ({'; '.join(bad[0].problems)})"
            )
        for report in bad:
            log.warning("data.skip_corrupt: skipped %d record(s) of %s (%s)",
                        report.bad, report.path, "; ".join(report.problems))
        arrays[split] = (x, y)
    return spec, arrays
