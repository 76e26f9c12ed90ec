"""The csv source: type inference, one-hot categories, string/integer labels, and errors."""

import numpy as np
import pytest

from bigmodel_tf.data import load_splits
from bigmodel_tf.errors import DataError

COLORS = ["red", "blue", "green"]


def _rows(n: int = 30) -> list[list]:
    """A header and n rows: age (numeric), color (categorical), zip (digits), species."""
    rows = [["age", "color", "zip", "species"]]
    for i in range(n):
        rows.append([20 + i, COLORS[i % 3], f"0{1000 + i % 2}", "cat" if i % 2 else "dog"])
    return rows


def _cfg(make_cfg, path, *extra):
    return make_cfg("data.name=csv", f"data.path={path}", "data.label=species", *extra)


def test_csv_string_labels_and_categorical_columns(make_cfg, write_csv):
    path = write_csv(_rows())
    splits = load_splits(_cfg(make_cfg, path))
    spec = splits.spec
    assert spec.kind == "tabular" and spec.class_names == ["cat", "dog"]
    assert spec.feature_names == ["age", "color=blue", "color=green", "color=red", "zip"]
    assert spec.categories == {"color": ["blue", "green", "red"]}
    x = np.concatenate([part.load()[0] for part in (splits.train, splits.val, splits.test)])
    assert x.shape == (30, 5)
    assert np.all(x[:, 1:4].sum(axis=1) == 1)  # exactly one category per row
    assert set(np.unique(x[:, 4])) == {1000.0, 1001.0}  # "01000" inferred numeric


def test_csv_given_column_types_override_inference(make_cfg, write_csv):
    path = write_csv(_rows())
    spec = load_splits(_cfg(make_cfg, path, "data.categorical_columns=[zip]")).spec
    assert spec.feature_names[-2:] == ["zip=01000", "zip=01001"]
    assert spec.categories == {"color": ["blue", "green", "red"], "zip": ["01000", "01001"]}


def test_csv_integer_labels_sort_numerically(make_cfg, write_csv):
    rows = [["a", "label"]] + [[i, [10, 2, 1][i % 3]] for i in range(30)]
    spec = load_splits(make_cfg("data.name=csv", f"data.path={write_csv(rows)}",
                                "data.label=label")).spec
    assert spec.class_names == ["1", "2", "10"]
    # {} (not None): a CSV spec, so the export takes its raw columns (data/columns.py)
    assert spec.feature_names == ["a"] and spec.categories == {}


def _with_cell(value: str, row: int = 4) -> list[list]:
    rows = _rows()
    rows[row][0] = value
    return rows


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, (), r"data.path=\S+missing.csv: file not found"),
        ([], (), "the file is empty"),
        ([["age", "species"]], (), "header but no data rows"),
        (_rows(), ("data.label=kind",),
         "data.label='kind': no such column .*available columns: age, color, zip, species"),
        (_rows(), ("data.numeric_columns=[weight]",),
         "data.numeric_columns: column 'weight' is not in .*available columns: age"),
        (_rows(), ("data.categorical_columns=[species]",), "is the label column"),
        (_rows(), ("data.numeric_columns=[color]",),
         r"column 'color', line 2: 'red' is text in a numeric column \(the column is listed in "
         r"data.numeric_columns\); 30 bad cells in all"),
        (_with_cell(""), (), r"column 'age', line 5: empty cell in a numeric column$"),
        (_with_cell("nan"), (), r"column 'age', line 5: 'nan' is NaN$"),
        (_with_cell("-inf", 7), (), r"column 'age', line 8: '-inf' is infinite$"),
        ([["age", "species"]] + [[i, "cat"] for i in range(10)], (),
         "expected at least 2 classes, found 1 \\('cat'\\)"),
        ([["age", "species"]] + [[i, "cat" if i else "dog"] for i in range(30)], (),
         "class 'dog' has 1 example\\(s\\); a stratified train/val/test split needs at least 3"),
        ([["age", "species"], [1, "cat", 3]], (), "line 2: has 3 fields, expected 2"),
        ([["species"], ["cat"], ["dog"]], (), "no feature columns besides the label"),
    ],
)
def test_csv_errors_name_the_problem(make_cfg, write_csv, tmp_path, content, extra, message):
    path = tmp_path / "missing.csv" if content is None else write_csv(content)
    with pytest.raises(DataError, match=message) as info:
        load_splits(_cfg(make_cfg, path, *extra))
    assert "\n" not in str(info.value)


def test_csv_rows_stream_in_batches_equal_to_the_whole_split(make_cfg, write_csv):
    splits = load_splits(_cfg(make_cfg, write_csv(_rows(40))))
    x, y = splits.train.load()
    batches = list(splits.train.batches(7).as_numpy_iterator())
    assert [len(b[1]) for b in batches[:-1]] == [7] * (len(y) // 7) and len(batches[-1][1])
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), splits.train.y)
    assert splits.train.size + splits.val.size + splits.test.size == 40


def test_csv_scan_holds_labels_and_vocabularies_not_the_file(make_cfg, tmp_path):
    """Scanning keeps a few numbers per row (its label and its row number), not its
    cells: under 32 bytes per row of a file of 82 bytes per row."""
    import tracemalloc

    from bigmodel_tf.data.csv_source import load_csv

    path = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    with path.open("w") as handle:
        handle.write(",".join(f"f{i}" for i in range(8)) + ",color,label\n")
        for i, row in enumerate(rng.normal(size=(30_000, 8)).round(6)):
            handle.write(",".join(map(str, row)) + f",{COLORS[i % 3]},{i % 4}\n")
    tracemalloc.start()
    table = load_csv(_cfg(make_cfg, path, "data.label=label").data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert table.whole.size == 30_000 and table.categories == {"color": sorted(COLORS)}
    assert path.stat().st_size > 80 * 30_000 and peak < 32 * 30_000
