"""Bad data: `bigmodel data validate` lists every problem with its file, row or record and
exits 2 if any is fatal; training on a corrupt TFRecord shard fails naming the file;
data.skip_corrupt=true skips bad records, counts them, and still fails above
data.max_corrupt_fraction."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from bigmodel_tf.cli import main
from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits, tfrecord_io

IRIS_RECORDS = tfrecord_io.RecordFormat((4,))  # 4 float features, class ids
TRAIN = ["model.name=mlp", "train.epochs=1", "export.enabled=false", "train.verbose=0",
         "evaluation.baselines=[]", "evaluation.interpret=false", "train.histogram_freq=0"]


@pytest.fixture
def records(tmp_path):
    """iris as a TFRecord folder of 2 shards per split (97 train records)."""
    out = tmp_path / "records"
    assert main(["data", "convert", "--out", str(out), "--set", "data.name=iris",
                 "data.shards=2"]) == 0
    return out


def rewrite_shard(path, replace: dict):
    """Rewrite a GZIP shard with records {index: serialized bytes} replaced."""
    records = [r.numpy() for r in tf.data.TFRecordDataset(str(path), compression_type="GZIP")]
    for index, record in replace.items():
        records[index] = record
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for record in records:
            writer.write(record)


@pytest.fixture
def bad_records(records):
    """Train shard 0 with a garbage record, a NaN record and a record of an unknown class."""
    shard = records / "train-00000-of-00002.tfrecord.gz"
    rewrite_shard(shard, {
        1: b"not a tf.train.Example",
        2: IRIS_RECORDS.serialize(np.array([1.0, np.nan, 2.0, 3.0], np.float32), 0),
        3: IRIS_RECORDS.serialize(np.ones(4, np.float32), 7),
    })
    return records, shard


def truncate(path):
    """Cut a file in half."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def source(records):
    """--set arguments of a TFRecord folder."""
    return ["data.name=tfrecord", f"data.path={records}"]


def test_training_on_a_corrupt_shard_fails_naming_the_file(records, tmp_path, capsys):
    shard = records / "train-00001-of-00002.tfrecord.gz"
    truncate(shard)
    code = main(["train", "--run-dir", str(tmp_path / "run"), "--set", *TRAIN, *source(records)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"corrupt TFRecord shard {shard}" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "model.keras").exists()


def test_skip_corrupt_skips_and_counts_bad_records(bad_records, tmp_path, caplog):
    records, shard = bad_records
    skip = [*TRAIN, *source(records), "data.skip_corrupt=true", "data.max_corrupt_fraction=0.05"]
    assert main(["train", "--run-dir", str(tmp_path / "run"), "--set", *skip]) == 0
    assert f"skipped 3 record(s) of {shard}" in caplog.text
    assert len(load_splits(load_config(overrides=skip)).train.y) == 97 - 3


def test_skip_corrupt_still_fails_above_the_fraction(bad_records, tmp_path, capsys):
    records, shard = bad_records
    code = main(["train", "--run-dir", str(tmp_path / "run"), "--set", *TRAIN,
                 *source(records), "data.skip_corrupt=true", "data.max_corrupt_fraction=0.01"])
    assert code == 2
    err = capsys.readouterr().err
    assert "3 of 97 train records are corrupt" in err and str(shard) in err


def test_validate_lists_every_bad_record_and_shard(bad_records, capsys):
    records, shard = bad_records
    truncated = records / "test-00001-of-00002.tfrecord.gz"
    truncate(truncated)
    assert main(["data", "validate", "--set", *source(records)]) == 2
    out = capsys.readouterr().out
    assert f"FATAL: corrupt TFRecord shard {shard}" in out
    assert "1 record(s) are not valid examples" in out
    assert "1 record(s) with NaN, infinite or out-of-range features" in out
    assert "1 record(s) with a label outside 0..2" in out
    assert f"FATAL: corrupt TFRecord shard {truncated}: unreadable after record" in out


def test_validate_passes_clean_data_and_warns_about_leakage(capsys):
    assert main(["data", "validate", "--set", "data.name=iris"]) == 0
    out = capsys.readouterr().out
    assert "result: 0 fatal problem(s)" in out
    assert "WARNING: leakage: 1 example(s) of val also in train" in out  # iris has a duplicate


def test_validate_finds_unreadable_images_and_empty_classes(tmp_path, capsys):
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    (root / "fox").mkdir()
    truncate(root / "cat" / "1.png")
    (root / "dog" / "2.png").write_bytes(b"not an image")
    assert main(["data", "validate", "--set", "data.name=image_dir",
                 f"data.path={root}"]) == 2
    out = capsys.readouterr().out
    assert "2 unreadable, truncated or out-of-range image(s)" in out
    assert str(root / "cat" / "1.png") in out and str(root / "dog" / "2.png") in out
    assert "class folders without image files: fox" in out


def test_validate_finds_bad_csv_values_labels_and_leakage(tmp_path, capsys):
    rows = ["a,b,label"] + [f"{i},{i % 7},{'xyz'[i % 3]}" for i in range(60)]
    rows[5] = "nan,1,x"
    rows[9] = "4,inf,y"
    rows[12] = "5,,z"
    rows[20] = "6,2,"
    path = tmp_path / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    assert main(["data", "validate", "--set", "data.name=csv", f"data.path={path}",
                 "data.label=label"]) == 2
    out = capsys.readouterr().out
    assert f"{path}: column 'a': 1 bad cell(s): line 6: 'nan' is NaN" in out
    assert (f"{path}: column 'b': 2 bad cell(s): line 10: 'inf' is infinite, "
            "line 13: empty cell in a numeric column") in out
    assert f"{path}: column 'label': 1 bad cell(s): line 21: empty label" in out

    path.write_text("\n".join(["a,b,label"] + [f"{i % 5},1,{'xy'[i % 2]}" for i in range(60)]))
    assert main(["data", "validate", "--set", "data.name=csv", f"data.path={path}",
                 "data.label=label"]) == 0
    assert "WARNING: leakage" in capsys.readouterr().out
