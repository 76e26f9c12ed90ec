"""The csv source: a header row, one example per row, a label column (data.label).

Column types come from data.numeric_columns / data.categorical_columns where given.
Otherwise a column is numeric when more than half of its non-empty cells are numbers, and
categorical when they are not; a numeric column's other cells are bad cells, never a
reason to re-type the column. Categorical columns are one-hot encoded over their sorted
values; the vocabularies go into the spec (``categories``: ``{}`` when every column is
numeric, which marks a CSV spec) and the encoded columns are named ``column=value``. The
serving model takes the raw columns and encodes them the same way inside the model
(``columns``), so a category the file does not hold goes to an out-of-vocabulary slot.

The file is never held in memory: ``scan`` reads it twice as a stream (csv_stream.py),
first counting the numbers in each column to type it, then checking every cell and
collecting the vocabularies and the labels; training then reads the rows of each split
batch by batch. ``scan`` lists each bad cell by column name and file line (1-based, the
header is line 1): an empty cell, text in a numeric column, NaN, an infinity, a number
beyond ±1.8e19 (``raw.FEATURE_LIMIT``: its column's float32 normalization statistics
would overflow), an empty or NaN label, a row with too few or too many fields. Training
stops at the first with one line that says how many there are; ``bigmodel data validate``
lists them (the first ``MAX_LISTED``).
"""

from __future__ import annotations

import logging
import math
from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from bigmodel_tf.config import DataConfig
from bigmodel_tf.data.csv_stream import CsvSplit, Encoding, records
from bigmodel_tf.data.raw import (
    FEATURE_LIMIT,
    FEATURE_LIMIT_TEXT,
    encode_labels,
    regression_targets,
)
from bigmodel_tf.errors import DataError
from bigmodel_tf.tasks import describe_labels, infer_task

log = logging.getLogger("bigmodel_tf.data")
_TEXT = "is text in a numeric column"
MAX_LISTED = 10_000  # bad cells kept for listing; all of them are counted


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
    """A CSV file read and checked: its column types and vocabularies, the label of every
    row with the right number of fields, and its bad cells (counted per column)."""

    path: str
    header: list[str]
    label: str
    numeric: set[str]  # the numeric feature columns
    rows: int = 0  # rows with the right number of fields
    categories: dict[str, set[str]] = field(default_factory=dict)
    # per row, the index of its label in label_values (the distinct labels, first seen)
    label_codes: array = field(default_factory=lambda: array("i"))
    label_values: dict[str, int] = field(default_factory=dict)
    label_counts: Counter = field(default_factory=Counter)  # the usable labels
    bad: list[BadCell] = field(default_factory=list)  # the first MAX_LISTED
    bad_counts: Counter = field(default_factory=Counter)  # column (None: rows) -> bad cells
    hints: dict[str, str] = field(default_factory=dict)  # column -> why it is numeric

    def add_bad(self, cell: BadCell) -> None:
        """Count a bad cell (and keep it, up to MAX_LISTED)."""
        self.bad_counts[cell.column] += 1
        if len(self.bad) < MAX_LISTED:
            self.bad.append(cell)

    def error(self) -> DataError:
        """One line: the first bad cell, why its column is numeric, how many there are."""
        first, total = self.bad[0], sum(self.bad_counts.values())
        hint = f" ({self.hints[first.column]})" if first.column in self.hints else ""
        more = (f"; {total} bad cells in all (`bigmodel data validate` lists them)"
                if total > 1 else "")
        return DataError(f"data.path={self.path}: {first}{hint}{more}")


def _header(path: str) -> list[str]:
    """The header row (names stripped) of a file that has data rows."""
    rows = records(path)
    first = next(rows, None)
    if first is None:
        raise DataError(f"data.path={path}: the file is empty (expected a header row)")
    header = [name.strip() for name in first[1]]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"data.path={path}: duplicate column name {duplicates[0]!r}")
    if next(rows, None) is None:
        raise DataError(f"data.path={path}: the file has a header but no data rows")
    return header


def _data_rows(path: str, width: int):
    """(line, stripped fields, whether the row has ``width`` fields) of every data row."""
    rows = records(path)
    next(rows)
    for line, row in rows:
        yield line, [value.strip() for value in row], len(row) == width


def _number(text: str) -> float | None:
    """The value of a cell, or None when it is not a number (nan and inf are numbers)."""
    try:
        return float(text)
    except ValueError:
        return None


def _given_types(data_cfg: DataConfig, path: str, header: list[str]) -> tuple[set, set]:
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



def _inferred_numeric(path: str, header: list[str], undeclared: list[str],
                      hints: dict[str, str]) -> set[str]:
    """The undeclared columns that are numeric: more than half of their non-empty cells are
    numbers (one pass over the file). A numeric column with text gets a hint saying so."""
    columns = [header.index(name) for name in undeclared]
    filled, numbers = Counter(), Counter()
    for _, row, whole in _data_rows(path, len(header)):
        if whole:
            for j in columns:
                if row[j]:
                    filled[j] += 1
                    numbers[j] += _number(row[j]) is not None
    numeric = set()
    for name, j in zip(undeclared, columns, strict=True):
        if 2 * numbers[j] > filled[j]:
            numeric.add(name)
            if numbers[j] < filled[j]:
                hints[name] = (f"{numbers[j]} of {filled[j]} non-empty cells are numbers, so "
                               "the column is numeric; list it in data.categorical_columns if "
                               "it is categorical")
    return numeric


def _numeric_problem(text: str) -> str | None:
    """Why a numeric column's cell cannot be used, or None."""
    value = _number(text) if text else None
    if not text:
        return "empty cell in a numeric column"
    if value is None:
        return _TEXT
    if math.isnan(value):
        return "is NaN"
    if math.isinf(value):
        return "is infinite"
    if abs(value) > FEATURE_LIMIT:
        return (f"is beyond {FEATURE_LIMIT_TEXT} (the column's float32 normalization "
                "statistics would overflow: rescale the column)")
    return None


def _label_problem(text: str) -> str | None:
    """Why a label cell cannot be used (a NaN label is a missing value, not a class)."""
    if not text:
        return "empty label"
    number = _number(text)
    if number is not None and math.isnan(number):
        return "is NaN, a missing label"
    return None


def _check_row(table: Scan, line: int, row: list[str]) -> None:
    """Check one row's cells; collect its categories and its label."""
    for name, text in zip(table.header, row, strict=True):
        if name == table.label:
            problem = _label_problem(text)
            code = table.label_values.setdefault(text, len(table.label_values))
            table.label_codes.append(code)
            if problem is None:
                table.label_counts[text] += 1
        elif name in table.numeric:
            problem = _numeric_problem(text)
        else:
            problem = None if text else "empty cell in a categorical column"
            if text:
                table.categories[name].add(text)
        if problem:
            table.add_bad(BadCell(line, name, text, problem))


def scan(data_cfg: DataConfig) -> Scan:
    """Read data.path and check every row and cell (two passes, nothing held but the
    labels and vocabularies); structural problems raise DataError."""
    path, label = str(data_cfg.path), data_cfg.label
    header = _header(path)
    if label not in header:
        raise DataError(
            f"data.label={label!r}: no such column in {path}; "
            f"available columns: {', '.join(header)}"
        )
    if len(header) < 2:
        raise DataError(f"data.path={path}: no feature columns besides the label {label!r}")
    numeric, categorical = _given_types(data_cfg, path, header)
    table = Scan(path, header, label, numeric=set(numeric))
    undeclared = [n for n in header if n != label and n not in numeric | categorical]
    table.numeric |= _inferred_numeric(path, header, undeclared, table.hints)
    table.categories = {n: set() for n in header if n != label and n not in table.numeric}
    for line, row, whole in _data_rows(path, len(header)):
        if not whole:
            table.add_bad(BadCell(line, None, "", f"has {len(row)} fields, expected "
                                                  f"{len(header)}"))
            continue
        table.rows += 1
        _check_row(table, line, row)
    for name in numeric:
        if any(cell.column == name and cell.reason == _TEXT for cell in table.bad):
            table.hints[name] = "the column is listed in data.numeric_columns"
    return table


@dataclass(frozen=True)
class CsvData:
    """A checked CSV file: all its rows as one split, its task, classes and spec facts."""

    whole: CsvSplit
    task: str
    class_names: list[str]
    feature_names: list[str]
    categories: dict[str, list[str]]


def _labels(table: Scan, task_name: str) -> tuple[np.ndarray, list[str], str]:
    """Every row's label as a class id (or regression target), the class names, the task."""
    distinct = list(table.label_values)  # code order
    where = f"data.label={table.label!r} in {table.path}"
    task = task_name
    if task == "auto":
        task = infer_task(distinct)
        log.info("%s: task.name=auto chose %s (%s)", where, task, describe_labels(distinct))
    if task == "regression":
        values, class_names = regression_targets(distinct, where), []
    else:
        values, class_names = encode_labels(distinct, where)
    labels = values[np.frombuffer(table.label_codes, np.int32)]
    labels.flags.writeable = False
    return labels, class_names, task


def load_csv(data_cfg: DataConfig, task_name: str = "auto") -> CsvData:
    """Scan data.path as a tabular data set with the label in column data.label: a class,
    or a regression target (``task_name``, or for auto ``tasks.infer_task`` of the labels)."""
    table = scan(data_cfg)
    if table.bad:
        raise table.error()
    categories = {name: sorted(values) for name, values in table.categories.items()}
    if categories:
        log.info("data.path=%s: categorical (one-hot) columns: %s", table.path,
                 ", ".join(f"{k} ({len(v)} values)" for k, v in categories.items()))
    names = []
    for name in table.header:
        if name != table.label:
            names += ([f"{name}={value}" for value in categories[name]]
                      if name in categories else [name])
    labels, class_names, task = _labels(table, task_name)
    encoding = Encoding(table.path, tuple(table.header), table.label,
                        frozenset(table.numeric),
                        {k: tuple(v) for k, v in categories.items()})
    return CsvData(CsvSplit(encoding, np.arange(table.rows), labels), task, class_names,
                   names, categories)
