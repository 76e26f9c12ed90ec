"""The csv source: a header row, one example per row, a label column (data.label).

Column types come from data.numeric_columns / data.categorical_columns where given.
Otherwise a column is numeric when more than half of its non-empty cells are numbers, and
categorical when they are not; a numeric column's other cells are bad cells, never a
reason to re-type the column. Categorical columns are one-hot encoded over their sorted
values; the vocabularies go into the spec (``categories``: ``{}`` when every column is
numeric, which marks a CSV spec) and the encoded columns are named ``column=value``. The
serving model takes the raw columns and encodes them the same way inside the model
(``columns``), so a category the file does not hold goes to an out-of-vocabulary slot.

``scan`` checks every cell and lists each bad one by column name and file line (1-based,
the header is line 1): an empty cell, text in a numeric column, NaN, an infinity, a number
beyond ±1.8e19 (``raw.FEATURE_LIMIT``: its column's float32 normalization statistics
would overflow), an empty or NaN label, a row with too few or too many fields. Training
stops at the first with one line that says how many there are; ``bigmodel data validate``
lists them all.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bigmodel_tf.config import DataConfig
from bigmodel_tf.data.raw import (
    FEATURE_LIMIT,
    FEATURE_LIMIT_TEXT,
    RawData,
    encode_labels,
    regression_targets,
)
from bigmodel_tf.errors import DataError
from bigmodel_tf.tasks import describe_labels, infer_task

log = logging.getLogger("bigmodel_tf.data")
_TEXT = "is text in a numeric column"


@dataclass(frozen=True)
class BadCell:
    """A cell that cannot be used (``column`` None: the whole row), and why."""

    line: int
    column: str | None
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"column {self.column!r}, line {self.line}" if self.column else (
            f"line {self.line}")
        shown = f" {self.value!r}" if self.value else ""
        return f"{where}:{shown} {self.reason}"


@dataclass
class Scan:
    """A CSV file read and checked: its good rows' cells per column and every bad cell."""

    path: Path
    header: list[str]
    label: str
    lines: list[int]  # file line of each row with the right number of fields
    cells: dict[str, list[str]]  # stripped cells of those rows, per column (label included)
    numeric: set[str]  # the numeric feature columns
    bad: list[BadCell] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)  # column -> why it is numeric

    def error(self) -> DataError:
        """One line: the first bad cell, why its column is numeric, how many there are."""
        first = self.bad[0]
        hint = f" ({self.hints[first.column]})" if first.column in self.hints else ""
        more = (f"; {len(self.bad)} bad cells in all (`bigmodel data validate` lists them)"
                if len(self.bad) > 1 else "")
        return DataError(f"data.path={self.path}: {first}{hint}{more}")


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank data rows, each with its line number in the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: drop a spreadsheet's BOM
    except FileNotFoundError:
        raise DataError(f"data.path={path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"data.path={path}: cannot be read ({exc.__class__.__name__})") from None
    reader = csv.reader(io.StringIO(text))
    try:
        # The line a row starts on: a quoted field may span lines, line_num is where it ends.
        records, start = [], 1
        for row in reader:
            if any(v.strip() for v in row):
                records.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        where = f"data.path={path}: line {reader.line_num}"
        raise DataError(f"{where}: not valid CSV ({exc})") from None
    if not records:
        raise DataError(f"data.path={path}: the file is empty (expected a header row)")
    (_, header), rows = records[0], records[1:]
    header = [name.strip() for name in header]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"data.path={path}: duplicate column name {duplicates[0]!r}")
    if not rows:
        raise DataError(f"data.path={path}: the file has a header but no data rows")
    return header, rows


def _number(text: str) -> float | None:
    """The value of a cell, or None when it is not a number (nan and inf are numbers)."""
    try:
        return float(text)
    except ValueError:
        return None


def _given_types(data_cfg: DataConfig, path: Path, header: list[str]) -> tuple[set, set]:
    """data.numeric_columns and data.categorical_columns, checked against the header."""
    given = {"data.numeric_columns": data_cfg.numeric_columns or [],
             "data.categorical_columns": data_cfg.categorical_columns or []}
    for key, names in given.items():
        for name in names:
            if name == data_cfg.label:
                raise DataError(f"{key}: {name!r} is the label column (data.label)")
            if name not in header:
                raise DataError(
                    f"{key}: column {name!r} is not in {path}; "
                    f"available columns: {', '.join(header)}"
                )
    numeric, categorical = (set(names) for names in given.values())
    if numeric & categorical:
        raise DataError(
            f"data.numeric_columns and data.categorical_columns: column "
            f"{sorted(numeric & categorical)[0]!r} is listed in both"
        )
    return numeric, categorical


def _numeric_cells(scan: Scan, name: str) -> None:
    """Record the bad cells of numeric column ``name``."""
    for line, text in zip(scan.lines, scan.cells[name], strict=True):
        value = _number(text) if text else None
        if not text:
            reason = "empty cell in a numeric column"
        elif value is None:
            reason = _TEXT
        elif math.isnan(value):
            reason = "is NaN"
        elif math.isinf(value):
            reason = "is infinite"
        elif abs(value) > FEATURE_LIMIT:
            reason = (f"is beyond {FEATURE_LIMIT_TEXT} (the column's float32 normalization "
                      "statistics would overflow: rescale the column)")
        else:
            continue
        scan.bad.append(BadCell(line, name, text, reason))


def _infer_numeric(scan: Scan, name: str) -> bool:
    """Whether undeclared column ``name`` is numeric: more than half its non-empty cells
    are numbers. A numeric column with text gets a hint saying so."""
    filled = [text for text in scan.cells[name] if text]
    numbers = sum(_number(text) is not None for text in filled)
    if 2 * numbers <= len(filled):
        return False
    if numbers < len(filled):
        scan.hints[name] = (f"{numbers} of {len(filled)} non-empty cells are numbers, so the "
                            "column is numeric; list it in data.categorical_columns if it is "
                            "categorical")
    return True


def _check_feature(scan: Scan, name: str, numeric: set[str], categorical: set[str]) -> None:
    """Type feature column ``name`` (given, else inferred) and record its bad cells."""
    if name in numeric or (name not in categorical and _infer_numeric(scan, name)):
        scan.numeric.add(name)
        _numeric_cells(scan, name)
        if name in numeric and any(c.reason == _TEXT for c in scan.bad if c.column == name):
            scan.hints[name] = "the column is listed in data.numeric_columns"
        return
    scan.bad += [BadCell(line, name, "", "empty cell in a categorical column")
                 for line, text in zip(scan.lines, scan.cells[name], strict=True) if not text]


def _check_labels(scan: Scan) -> None:
    """Record empty and NaN labels (a NaN label is a missing value, not a class)."""
    for line, text in zip(scan.lines, scan.cells[scan.label], strict=True):
        number = _number(text)
        if not text:
            scan.bad.append(BadCell(line, scan.label, text, "empty label"))
        elif number is not None and math.isnan(number):
            scan.bad.append(BadCell(line, scan.label, text, "is NaN, a missing label"))


def scan(data_cfg: DataConfig) -> Scan:
    """Read data.path and check every row and cell; structural problems raise DataError."""
    path = Path(data_cfg.path)
    header, rows = _read_rows(path)
    label = data_cfg.label
    if label not in header:
        raise DataError(
            f"data.label={label!r}: no such column in {path}; "
            f"available columns: {', '.join(header)}"
        )
    if len(header) < 2:
        raise DataError(f"data.path={path}: no feature columns besides the label {label!r}")
    numeric, categorical = _given_types(data_cfg, path, header)
    good = [(line, row) for line, row in rows if len(row) == len(header)]
    result = Scan(path, header, label, [line for line, _ in good],
                  {name: [row[j].strip() for _, row in good] for j, name in enumerate(header)},
                  numeric=set())
    result.bad += [BadCell(line, None, "", f"has {len(row)} fields, expected {len(header)}")
                   for line, row in rows if len(row) != len(header)]
    for name in header:
        if name != label:
            _check_feature(result, name, numeric, categorical)
    _check_labels(result)
    result.bad.sort(key=lambda cell: (cell.line, header.index(cell.column)
                                      if cell.column else -1))
    return result


def load_csv(data_cfg: DataConfig, seed: int, task_name: str = "auto") -> RawData:
    """Read data.path as a tabular data set with the label in column data.label: a class,
    or a regression target (``task_name``, or for auto ``tasks.infer_task`` of the labels)."""
    table = scan(data_cfg)
    if table.bad:
        raise table.error()
    columns, names, categories = [], [], {}
    for name, column in table.cells.items():  # header order
        if name == table.label:
            continue
        if name in table.numeric:
            columns.append(np.array([float(v) for v in column], dtype=np.float32)[:, np.newaxis])
            names.append(name)
        else:
            vocabulary = sorted(set(column))
            one_hot = np.asarray(column)[:, np.newaxis] == np.asarray(vocabulary)[np.newaxis]
            columns.append(one_hot.astype(np.float32))
            names.extend(f"{name}={value}" for value in vocabulary)
            categories[name] = vocabulary
    if categories:
        log.info("data.path=%s: categorical (one-hot) columns: %s", table.path,
                 ", ".join(f"{k} ({len(v)} values)" for k, v in categories.items()))
    labels, where = table.cells[table.label], f"data.label={table.label!r} in {table.path}"
    task = task_name
    if task == "auto":
        task = infer_task(labels)
        log.info("%s: task.name=auto chose %s (%s)", where, task, describe_labels(labels))
    if task == "regression":
        y, class_names = regression_targets(labels, where), []
    else:
        y, class_names = encode_labels(labels, where)
    return RawData(
        x=np.concatenate(columns, axis=1),
        y=y,
        kind="tabular",
        class_names=class_names,
        feature_names=names,
        categories=categories,
        task=task,
    )


LOADERS = {"csv": load_csv}
