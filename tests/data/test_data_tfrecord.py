"""convert_to_tfrecord and the tfrecord source: round trip, refusal, corruption."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from bigmodel_tf.data import convert as convert_module
from bigmodel_tf.data import convert_to_tfrecord, load_splits, stats, stream_errors
from bigmodel_tf.errors import DataError
from tests.pipelines import config_dataset

SPLITS = ("train", "val", "test")


def _epoch(ds):
    batches = list(ds.as_numpy_iterator())
    return [np.concatenate([b[i] for b in batches]) for i in range(len(batches[0]))]


@pytest.fixture
def digits_records(make_cfg, tmp_path):
    """Digits written as 3 shards per split; returns (source config, folder)."""
    cfg = make_cfg("data.shards=3")
    return cfg, Path(convert_to_tfrecord(cfg, tmp_path / "digits"))


def test_convert_writes_named_shards_and_spec(digits_records):
    cfg, folder = digits_records
    names = sorted(p.name for p in folder.iterdir())
    expected = [f"{s}-{i:05d}-of-00003.tfrecord.gz" for s in SPLITS for i in range(3)]
    assert names == sorted([*expected, "spec.json"])
    with gzip.open(folder / "train-00000-of-00003.tfrecord.gz") as f:
        assert f.read(1)  # real GZIP content
    meta = json.loads((folder / "spec.json").read_text())
    splits = load_splits(cfg)
    assert meta["split_sizes"] == {s: len(getattr(splits, s).y) for s in SPLITS}
    assert meta["source"]["data"]["name"] == "digits" and meta["source"]["seed"] == cfg.seed
    assert meta["class_names"] == splits.spec.class_names
    assert meta["encoding"] == "png"  # digits' pixels are whole numbers in 0..16
    assert [p.name for p in folder.parent.iterdir()] == ["digits"]  # no staging folder left


def test_read_back_gives_the_same_splits_and_spec(make_cfg, digits_records):
    cfg, folder = digits_records
    original = load_splits(cfg)
    back = load_splits(make_cfg("data.name=tfrecord", f"data.path={folder}"))
    assert back.spec == original.spec
    for s in SPLITS:
        for a, b in zip(getattr(back, s).load(), getattr(original, s).load(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_tfrecord_pipeline_yields_the_in_memory_batches(make_cfg, digits_records):
    cfg, folder = digits_records
    records = make_cfg("data.name=tfrecord", f"data.path={folder}",
                       "data.imbalance.class_weight=balanced", "data.augment.flip=horizontal")
    memory = make_cfg("data.imbalance.class_weight=balanced", "data.augment.flip=horizontal")
    for split in SPLITS:
        from_files = config_dataset(records, split)
        from_memory = config_dataset(memory, split)
        assert from_files.element_spec == from_memory.element_spec
        assert from_files.cardinality() == from_memory.cardinality()
        for a, b in zip(_epoch(from_files), _epoch(from_memory), strict=True):
            np.testing.assert_array_equal(a, b)


def test_tabular_conversion_keeps_categories(make_cfg, write_csv, tmp_path):
    rows = [["size", "color", "label"]] + [[i, "ab"[i % 2], "xyz"[i % 3]] for i in range(45)]
    cfg = make_cfg("data.name=csv", f"data.path={write_csv(rows)}", "data.label=label",
                   "data.shards=2")
    folder = convert_to_tfrecord(cfg, tmp_path / "out")
    assert json.loads((Path(folder) / "spec.json").read_text())["encoding"] == "float"
    back = load_splits(make_cfg("data.name=tfrecord", f"data.path={folder}"))
    assert back.spec.categories == {"color": ["a", "b"]}
    assert back.spec == load_splits(cfg).spec


def test_refuses_a_non_empty_out_dir_but_accepts_an_empty_one(make_cfg, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="busy: already exists and is not an empty folder"):
        convert_to_tfrecord(make_cfg("data.name=iris"), busy)
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (Path(convert_to_tfrecord(make_cfg("data.name=iris"), empty)) / "spec.json").exists()


def test_an_interrupted_conversion_leaves_nothing_at_out_and_resumes(make_cfg, tmp_path,
                                                                   monkeypatch):
    cfg = make_cfg("data.name=iris", "data.shards=2")
    written = []
    write = convert_module._write_shard

    def fail_on_the_fourth(path, *args):
        if len(written) == 3:
            raise OSError("disk full")
        written.append(path.rsplit("/", 1)[-1])
        write(path, *args)

    monkeypatch.setattr(convert_module, "_write_shard", fail_on_the_fourth)
    with pytest.raises(OSError, match="disk full"):
        convert_to_tfrecord(cfg, tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == [".out.partial"]  # nothing at --out
    written.clear()
    monkeypatch.setattr(convert_module, "_write_shard",
                        lambda path, *args: written.append(path) or write(path, *args))
    folder = convert_to_tfrecord(cfg, tmp_path / "out")
    assert len(written) == 3  # the 3 finished shards were kept, the other 3 written
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    back = load_splits(make_cfg("data.name=tfrecord", f"data.path={folder}"))
    for s in SPLITS:
        for a, b in zip(getattr(back, s).load(), getattr(load_splits(cfg), s).load(),
                        strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_shard_is_a_data_error_naming_the_file(make_cfg, tmp_path, damage):
    folder = Path(convert_to_tfrecord(make_cfg("data.name=wine", "data.shards=2"), tmp_path / "w"))
    shard = folder / "val-00001-of-00002.tfrecord.gz"
    content = shard.read_bytes()
    shard.write_bytes(b"\x00garbage" * 20 if damage == "garbage" else content[: len(content) // 2])
    cfg = make_cfg("data.name=tfrecord", f"data.path={folder}")
    splits = load_splits(cfg)  # reads spec.json and the listing only
    # met mid-stream, then named
    with pytest.raises(DataError, match=f"corrupt TFRecord shard {shard}") as info, \
            stream_errors(cfg.data):
        stats.read_through(splits.val)
    assert "\n" not in str(info.value)


def test_folder_without_spec_or_shards(make_cfg, tmp_path):
    with pytest.raises(DataError, match="not a TFRecord folder .*no spec.json"):
        load_splits(make_cfg("data.name=tfrecord", f"data.path={tmp_path}"))
    folder = Path(convert_to_tfrecord(make_cfg("data.name=iris"), tmp_path / "iris"))
    for shard in folder.glob("test-*"):
        shard.unlink()
    with pytest.raises(DataError, match="no test shards"):
        load_splits(make_cfg("data.name=tfrecord", f"data.path={folder}"))


def test_training_from_records_matches_training_from_memory(make_cfg, digits_records):
    import keras

    cfg, folder = digits_records
    records = make_cfg("data.name=tfrecord", f"data.path={folder}")
    spec = load_splits(cfg).spec
    results = []
    for source in (cfg, records):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input(spec.input_shape),
            keras.layers.Normalization(mean=spec.mean, variance=spec.variance),
            keras.layers.Flatten(),
            keras.layers.Dense(spec.num_classes, activation="softmax"),
        ])
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(config_dataset(source, "train"), epochs=5, verbose=0)
        results.append(model.evaluate(config_dataset(source, "test"), verbose=0))
    assert results[0] == pytest.approx(results[1], abs=1e-6)
    assert results[0][1] > 0.85
