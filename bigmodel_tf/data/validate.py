"""``bigmodel data validate``: scan a data source before training and report every problem.

Where training stops at the first problem with one line, this scans the whole source and
lists what it finds, with the offending files, rows or records:

- TFRecord folders: corrupt or truncated shards, records that are not valid examples,
  NaN, infinite or out-of-range features, labels outside the spec's classes, classes
  without train examples (all fatal);
- image folders: unreadable, truncated or out-of-range images, empty class folders
  (fatal), entries training does not read (a warning: hidden, non-image, top-level and
  nested entries);
- CSV files: every bad cell by column and line (``csv_source.scan``: rows with too few or
  too many fields, empty cells, text in a numeric column, NaN, infinite or out-of-range
  numbers, empty or NaN labels; fatal);
- every source: classes too small for a stratified split (fatal) and examples that occur
  in more than one split (a warning: leakage inflates the val and test metrics; a few
  exact duplicates also occur in real data sets, e.g. iris).

``validate(cfg) -> Report``; the CLI prints the report and exits 2 if anything is fatal.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import numpy as np

from bigmodel_tf.config import DataConfig, ExperimentConfig
from bigmodel_tf.data import csv_source, image_dir, salvage, tfrecord_io
from bigmodel_tf.data.splits import Splits, load_splits
from bigmodel_tf.errors import DataError

_SHOWN = 5  # offending files / rows listed per finding
_MIN_PER_CLASS = 3  # one example each for train, val and test


@dataclass
class Report:
    """The findings of one scan: (level, message) pairs and a summary of the source."""

    source: str
    summary: list[str] = field(default_factory=list)
    findings: list[tuple[str, str]] = field(default_factory=list)

    def fatal(self, message: str) -> None:
        """Record a problem that makes training fail or mislead."""
        self.findings.append(("FATAL", message))

    def warn(self, message: str) -> None:
        """Record a problem worth a look that does not stop training."""
        self.findings.append(("WARNING", message))

    @property
    def fatal_count(self) -> int:
        """How many fatal problems were found."""
        return sum(level == "FATAL" for level, _ in self.findings)

    def lines(self) -> list[str]:
        """The report as printable lines."""
        warnings = len(self.findings) - self.fatal_count
        return [f"data validate: {self.source}", *(f"  {s}" for s in self.summary),
                *(f"{level}: {message}" for level, message in self.findings),
                f"result: {self.fatal_count} fatal problem(s), {warnings} warning(s)"]


def _listed(items: list) -> str:
    """The first few items, and how many more there are."""
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(str(i) for i in items[:_SHOWN]) + more


def _class_sizes(report: Report, names: list[str], counts, what: str) -> None:
    """Fatal finding for classes too small to split stratified."""
    small = [f"{n!r} ({c})" for n, c in zip(names, counts, strict=True) if c < _MIN_PER_CLASS]
    if small:
        report.fatal(f"{what}: classes with fewer than {_MIN_PER_CLASS} examples (a "
                     f"stratified train/val/test split needs {_MIN_PER_CLASS}): {_listed(small)}")


def _digests(batches) -> dict[bytes, int]:
    """sha256 of each example's features -> its first row, over (x, ...) batches."""
    rows, start = {}, 0
    for x, *_ in batches:
        x = np.ascontiguousarray(np.asarray(x))
        for i, row in enumerate(x.reshape(len(x), -1)):
            rows.setdefault(hashlib.sha256(row.tobytes()).digest(), start + i)
        start += len(x)
    return rows


def _leakage(report: Report, batches: dict) -> None:
    """Warn about examples whose features occur in two splits (``batches``: split name ->
    its (x, ...) batches; only the digests are kept)."""
    rows = {split: _digests(parts) for split, parts in batches.items()}
    names = list(batches)
    for a_index, a in enumerate(names):
        for b in names[a_index + 1:]:
            shared = [key for key in rows[b] if key in rows[a]]
            if shared:
                report.warn(
                    f"leakage: {len(shared)} example(s) of {b} also in {a} ({b} rows "
                    f"{_listed([rows[b][k] for k in shared])}; {a} rows "
                    f"{_listed([rows[a][k] for k in shared])})"
                )


def _in_memory(report: Report, splits: Splits) -> None:
    """Check the splits training would see (loaded by ``validate``): sizes and leakage."""
    parts = {s: getattr(splits, s) for s in ("train", "val", "test")}
    report.summary.append(", ".join(f"{s}: {p.size} examples" for s, p in parts.items()))
    _leakage(report, {s: p.batches(1024) for s, p in parts.items()})


def _tfrecord(report: Report, data: DataConfig) -> None:
    """Scan every record of every shard of a TFRecord folder."""
    meta = tfrecord_io.read_meta(data.path)
    spec, fmt = tfrecord_io.spec_from_meta(meta), tfrecord_io.RecordFormat.of(meta)
    arrays = {}
    for split in tfrecord_io.SPLIT_NAMES:
        files = tfrecord_io.shard_files(data.path, split)
        expected = int(meta["split_sizes"].get(split, 0))
        x, y, shards = salvage.salvage_split(files, expected, spec, fmt)
        report.summary.append(f"{split}: {len(y)} good of {expected} records in "
                              f"{len(files)} shard(s)")
        for shard in shards:
            if shard.problems:
                report.fatal(f"corrupt TFRecord shard {shard.path}: {'; '.join(shard.problems)}"
                             f" ({shard.bad} of {shard.expected} records lost)")
        counts = np.bincount(y, minlength=spec.num_classes)
        empty = [name for name, count in zip(spec.class_names, counts, strict=True) if not count]
        if empty:
            message = f"{split}: classes without examples: {_listed(empty)}"
            if split == "train":
                report.fatal(message)
            else:
                report.warn(message)
        arrays[split] = [(x, y)]
    _leakage(report, arrays)


def _images(report: Report, data: DataConfig) -> None:
    """Open and fully decode every image of an image folder; list what is not used."""
    try:
        listing = image_dir.list_folder(data.path)
    except DataError as exc:
        report.fatal(str(exc))
        return
    bad = []
    for path in (p for files in listing.files.values() for p in files):
        try:  # as training reads it: decodes every pixel, checks the mode's value range
            image_dir.check_file(path, data.channels, *data.image_size)
        except DataError as exc:
            bad.append(str(exc).removeprefix("data.path: "))
    counts = {name: len(files) for name, files in listing.files.items()}
    report.summary.append(f"{sum(counts.values())} image files in {len(counts)} class "
                          "folder(s)")
    if listing.unused:
        report.warn(f"data.path={data.path}: {listing.unused_summary()}")
    if bad:
        report.fatal(f"{len(bad)} unreadable, truncated or out-of-range image(s): "
                     f"{_listed(bad)}")
    empty = [name for name, count in counts.items() if not count]
    if empty:
        report.fatal(f"class folders without image files: {_listed(empty)}")
    if not report.fatal_count:
        _class_sizes(report, list(counts), list(counts.values()), f"data.path={data.path}")


def _csv(report: Report, data: DataConfig) -> None:
    """Check every row and cell of a CSV file; list the bad ones per column."""
    try:
        table = csv_source.scan(data)
    except DataError as exc:
        report.fatal(str(exc))
        return
    report.summary.append(f"{table.rows} rows, {len(table.header)} columns "
                          f"({len(table.numeric)} numeric features)")
    for column in [None, *table.header]:
        cells = [cell for cell in table.bad if cell.column == column]
        if not cells:
            continue
        where = f"column {column!r}" if column else "rows"
        hint = f" ({table.hints[column]})" if column in table.hints else ""
        report.fatal(f"{table.path}: {where}{hint}: {table.bad_counts[column]} bad cell(s): "
                     f"{_listed([_without_column(cell) for cell in cells])}")
    names = sorted(table.label_counts)
    _class_sizes(report, names, [table.label_counts[n] for n in names],
                 f"data.label in {table.path}")


def _without_column(cell: csv_source.BadCell) -> str:
    """A bad cell as 'line N: reason', its column being named once per finding."""
    return str(dataclasses.replace(cell, column=None))


def validate(cfg: ExperimentConfig) -> Report:
    """Scan the data source of ``cfg`` and report every problem found."""
    d = cfg.data
    report = Report(f"data.name={d.name}" + (f" data.path={d.path}" if d.path else ""))
    scanners = {"tfrecord": _tfrecord, "image_dir": _images, "csv": _csv}
    if d.name in scanners:
        scanners[d.name](report, d)
    if d.name != "tfrecord" and not report.fatal_count:  # then load and split as training
        try:
            _in_memory(report, load_splits(cfg))
        except DataError as exc:
            report.fatal(str(exc))
    return report
