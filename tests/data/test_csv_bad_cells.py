"""Probe of bad CSV cells: each kind is named by column and file line, by training's loader
(one line) and by `bigmodel data validate` (exit 2); numeric columns are never re-typed."""

import re

import keras
import numpy as np
import pytest

from bigmodel_tf.cli import main
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.raw import FEATURE_LIMIT
from bigmodel_tf.errors import DataError

HEADER = ["age", "height", "color", "species"]
ROW = 6  # the data row the probe breaks: file line 8 (the header is line 1)
LINE = ROW + 2


def _rows(n: int = 30) -> list[list]:
    """A header and n clean rows: two numeric columns, a categorical one, the label."""
    return [HEADER] + [[20 + i, 1.5 + i % 4, ["red", "blue"][i % 2], ["cat", "dog"][i % 2]]
                       for i in range(n)]


BEYOND = r"is beyond ±1\.8e19 \(the column's float32 normalization statistics would overflow"
PROBES = [  # (column, cell, reason); column None: the row is replaced by the cell's fields
    ("height", "1e308", BEYOND),
    ("height", "-1e308", BEYOND),
    ("height", "3.5e38", BEYOND),  # beyond float32's maximum
    ("height", "3e38", BEYOND),  # a float32, but its square (the variance) overflows
    ("height", "inf", "is infinite"),
    ("height", "-inf", "is infinite"),
    ("height", "nan", "is NaN"),
    ("height", "NaN", "is NaN"),
    ("height", "", "empty cell in a numeric column"),
    ("height", " ", "empty cell in a numeric column"),
    ("height", "abc", "is text in a numeric column"),
    ("color", "", "empty cell in a categorical column"),
    ("species", "", "empty label"),
    ("species", "nan", "is NaN, a missing label"),
    (None, "1,2.5,red", "has 3 fields, expected 4"),
    (None, "1,2.5,red,cat,9", "has 5 fields, expected 4"),
]
IDS = [f"{column}={cell!r}" for column, cell, _ in PROBES]


def _broken(write_csv, column, cell):
    rows = _rows()
    if column is None:
        rows[ROW + 1] = cell.split(",")
    else:
        rows[ROW + 1][HEADER.index(column)] = cell
    return write_csv(rows)


def _expected(column, cell) -> str:
    """The start of the bad cell's description: where it is and what it holds."""
    where = f"column '{column}', line {LINE}" if column else f"line {LINE}"
    return re.escape(where + (f": '{cell.strip()}' " if column and cell.strip() else ": "))


def _source(path) -> list[str]:
    return ["data.name=csv", f"data.path={path}", "data.label=species"]


@pytest.mark.parametrize(("column", "cell", "reason"), PROBES, ids=IDS)
def test_training_names_the_bad_cell_by_column_and_line(make_cfg, write_csv, column, cell,
                                                        reason):
    path = _broken(write_csv, column, cell)
    with pytest.raises(DataError) as info:
        load_splits(make_cfg(*_source(path)))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"data.path={path}: ")
    assert re.search(_expected(column, cell) + reason, message), message


@pytest.mark.parametrize(("column", "cell", "reason"), PROBES, ids=IDS)
def test_validate_lists_the_bad_cell_by_column_and_line(write_csv, capsys, column, cell,
                                                        reason):
    path = _broken(write_csv, column, cell)
    assert main(["data", "validate", "--set", *_source(path)]) == 2
    out = capsys.readouterr().out
    group = f"column '{column}'" if column else "rows"
    finding = next(line for line in out.splitlines() if line.startswith(f"FATAL: {path}: {group}"))
    assert "1 bad cell(s)" in finding
    shown = f": '{cell.strip()}' " if column and cell.strip() else ": "
    assert re.search(re.escape(f"line {LINE}{shown}") + reason, finding), finding


def test_a_mostly_numeric_column_is_an_error_naming_its_text_cells(make_cfg, write_csv):
    rows = [["x", "y", "label"]] + [[i, i % 7, "ab"[i % 2]] for i in range(600)]
    rows[500][1] = "abc"  # data row 500 is file line 501
    rows[20][1] = "N/A"
    path = write_csv(rows)
    with pytest.raises(DataError, match=(
            r"column 'y', line 21: 'N/A' is text in a numeric column \(598 of 600 non-empty "
            r"cells are numbers, so the column is numeric; list it in "
            r"data.categorical_columns if it is categorical\); 2 bad cells in all")):
        load_splits(make_cfg("data.name=csv", f"data.path={path}", "data.label=label"))
    spec = load_splits(make_cfg("data.name=csv", f"data.path={path}", "data.label=label",
                                "data.categorical_columns=[y]")).spec
    assert len(spec.feature_names) == 1 + 9  # x, and y one-hot over 0..6, 'N/A' and 'abc'


def test_a_mostly_text_column_is_categorical(make_cfg, write_csv):
    rows = [["size", "w", "label"]] + [[["S", "M", "L", "7"][i % 4], i, "ab"[i % 2]]
                                       for i in range(40)]
    spec = load_splits(make_cfg("data.name=csv", f"data.path={write_csv(rows)}",
                                "data.label=label")).spec
    assert spec.categories == {"size": ["7", "L", "M", "S"]}
    assert spec.feature_names == ["size=7", "size=L", "size=M", "size=S", "w"]


def test_every_bad_cell_is_counted_and_listed(write_csv, make_cfg, capsys):
    rows = _rows()
    for row, cell in [(3, "inf"), (9, "1e39"), (15, "")]:
        rows[row + 1][1] = cell
    path = write_csv(rows)
    with pytest.raises(DataError, match=r"column 'height', line 5: 'inf' is infinite; "
                                         r"3 bad cells in all \(`bigmodel data validate`"):
        load_splits(make_cfg(*_source(path)))
    assert main(["data", "validate", "--set", *_source(path)]) == 2
    out = capsys.readouterr().out
    assert (f"FATAL: {path}: column 'height': 3 bad cell(s): line 5: 'inf' is infinite, "
            "line 11: '1e39' is beyond ±1.8e19") in out
    assert "line 17: empty cell in a numeric column" in out


def test_values_at_the_limit_normalize_to_finite_float32(make_cfg, write_csv):
    rows = _rows()
    for i, row in enumerate(rows[1:]):
        row[1] = repr(FEATURE_LIMIT * (-1) ** i)  # the widest spread within the limit
    splits = load_splits(make_cfg(*_source(write_csv(rows))))
    spec = splits.spec
    assert np.all(np.isfinite(np.asarray(spec.variance, np.float32)))
    layer = keras.layers.Normalization(mean=spec.mean, variance=spec.variance)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(layer(splits.train.load()[0]))))


def test_lines_count_like_an_editor_across_quoted_newlines(make_cfg, tmp_path):
    rows = ["age,height,color,species", '1,2,"dark\nred",cat']  # one row over lines 2-3
    rows += [f"{i},2,red,{['cat', 'dog'][i % 2]}" for i in range(30)]
    rows[5] = "4,,red,dog"  # file line 7: the quoted row took two lines
    path = tmp_path / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"column 'height', line 7: empty cell"):
        load_splits(make_cfg(*_source(path)))
