"""The csv source: a header row, one example per row, a label column (data.label).

Column types come from data.numeric_columns / data.categorical_columns where given and
are inferred otherwise (numeric when every non-empty value parses as a number).
Categorical columns are one-hot encoded over their sorted values; the vocabularies go into
the spec (``categories``) and the encoded columns are named ``column=value``.
Every problem is a one-line DataError naming the file, column and row.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data.raw import RawData, encode_labels
from bigmodel_tf.errors import DataError


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
        records = [(reader.line_num, row) for row in reader if any(v.strip() for v in row)]
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
    for line, row in rows:
        if len(row) != len(header):
            raise DataError(
                f"data.path={path}: line {line} has {len(row)} fields, expected {len(header)}"
            )
    return header, rows


def _parses_as_number(text: str) -> bool:
    """True when ``text`` is a number (including nan/inf, which are rejected later)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column_types(
    cfg: ExperimentConfig, path: Path, header: list[str], values: dict[str, list[str]]
) -> set[str]:
    """The set of numeric feature columns: the given ones plus the inferred ones."""
    given = {"data.numeric_columns": cfg.data.numeric_columns or [],
             "data.categorical_columns": cfg.data.categorical_columns or []}
    for key, names in given.items():
        for name in names:
            if name == cfg.data.label:
                raise DataError(f"{key}: {name!r} is the label column (data.label)")
            if name not in values:
                raise DataError(
                    f"{key}: column {name!r} is not in {path}; "
                    f"available columns: {', '.join(header)}"
                )
    both = set(given["data.numeric_columns"]) & set(given["data.categorical_columns"])
    if both:
        raise DataError(
            f"data.numeric_columns and data.categorical_columns: column {sorted(both)[0]!r} "
            "is listed in both"
        )
    numeric = set(given["data.numeric_columns"])
    for name, column in values.items():
        if name in numeric or name in given["data.categorical_columns"]:
            continue
        filled = [v for v in column if v]
        if filled and all(_parses_as_number(v) for v in filled):
            numeric.add(name)
    return numeric


def _numeric(path: Path, name: str, column: list[str], lines: list[int]) -> np.ndarray:
    """One numeric feature column; empty, non-numeric, NaN or infinite values are errors."""
    out = np.empty(len(column), dtype=np.float32)
    for i, text in enumerate(column):
        where = f"data.path={path}: column {name!r}, row {i + 1} (line {lines[i]})"
        if not text:
            raise DataError(f"{where}: empty value in a numeric feature")
        try:
            value = float(text)
        except ValueError:
            raise DataError(f"{where}: expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise DataError(f"{where}: NaN or infinite value {text!r} in a numeric feature")
        out[i] = value
    return out


def load_csv(cfg: ExperimentConfig) -> RawData:
    """Read data.path as a tabular data set with the class in column data.label."""
    path = Path(cfg.data.path)
    header, rows = _read_rows(path)
    lines = [line for line, _ in rows]
    label = cfg.data.label
    if label not in header:
        raise DataError(
            f"data.label={label!r}: no such column in {path}; "
            f"available columns: {', '.join(header)}"
        )
    values = {name: [row[j].strip() for _, row in rows] for j, name in enumerate(header)}
    labels = values.pop(label)
    if not values:
        raise DataError(f"data.path={path}: no feature columns besides the label {label!r}")
    for i, text in enumerate(labels):
        if not text:
            raise DataError(
                f"data.path={path}: column {label!r}, row {i + 1} (line {lines[i]}): empty label"
            )
    numeric = _column_types(cfg, path, header, values)
    columns, names, categories = [], [], {}
    for name, column in values.items():  # header order
        if name in numeric:
            columns.append(_numeric(path, name, column, lines)[:, np.newaxis])
            names.append(name)
        else:
            vocabulary = sorted(set(column))
            one_hot = np.asarray(column)[:, np.newaxis] == np.asarray(vocabulary)[np.newaxis]
            columns.append(one_hot.astype(np.float32))
            names.extend(f"{name}={value}" for value in vocabulary)
            categories[name] = vocabulary
    y, class_names = encode_labels(labels, f"data.label={label!r} in {path}")
    return RawData(
        x=np.concatenate(columns, axis=1),
        y=y,
        kind="tabular",
        class_names=class_names,
        feature_names=names,
        categories=categories or None,
    )


LOADERS = {"csv": load_csv}
