"""Remote data paths: TFRecord and image folders on TensorFlow's in-process ram://
filesystem train and evaluate as local ones do; a scheme without a filesystem is an error."""

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.cli import main
from bigmodel_tf.data import convert_to_tfrecord, load_splits
from bigmodel_tf.errors import ConfigError
from tests.pipelines import config_dataset


def _epoch(ds):
    batches = list(ds.as_numpy_iterator())
    return [np.concatenate([b[i] for b in batches]) for i in range(len(batches[0]))]


def test_a_tfrecord_folder_on_ram_streams_like_the_local_data(make_cfg):
    source = make_cfg("data.shards=2")
    folder = convert_to_tfrecord(source, "ram://remote-data/digits")
    assert sorted(tf.io.gfile.listdir(folder))[-1] == "val-00001-of-00002.tfrecord.gz"
    remote = make_cfg("data.name=tfrecord", f"data.path={folder}")
    assert load_splits(remote).spec == load_splits(source).spec
    for split in ("train", "test"):
        for a, b in zip(_epoch(config_dataset(remote, split)),
                        _epoch(config_dataset(source, split)), strict=True):
            np.testing.assert_array_equal(a, b)


def test_an_image_folder_on_ram_is_listed_split_and_decoded(make_cfg, image_folder):
    root = "ram://remote-images"
    for path in image_folder.rglob("*.*"):
        target = f"{root}/{path.relative_to(image_folder).as_posix()}"
        tf.io.gfile.makedirs(target.rsplit("/", 1)[0])
        tf.io.gfile.GFile(target, "wb").write(path.read_bytes())
    overrides = ("data.name=image_dir", "data.image_size=[6,9]")
    remote = load_splits(make_cfg(*overrides, f"data.path={root}"))
    local = load_splits(make_cfg(*overrides, f"data.path={image_folder}"))
    assert remote.spec == local.spec and remote.train.size == local.train.size
    x_remote, y_remote = remote.test.load()
    x_local, y_local = local.test.load()
    np.testing.assert_array_equal(y_remote, y_local)
    np.testing.assert_allclose(x_remote, x_local)


def test_a_scheme_without_a_filesystem_is_a_clear_error(make_cfg, capsys):
    with pytest.raises(ConfigError, match=r"data.path=nofs://bucket/x: this TensorFlow has no "
                                          r"filesystem for nofs://"):
        load_splits(make_cfg("data.name=tfrecord", "data.path=nofs://bucket/x"))
    assert main(["train", "--set", "data.name=image_dir", "data.path=nofs://bucket/x"]) == 2
    err = capsys.readouterr().err
    assert "TensorFlow has no filesystem for nofs://" in err and "Traceback" not in err


def test_a_csv_on_ram_streams_like_the_local_file(make_cfg, write_csv):
    rows = [["size", "color", "kind"]] + [[i * 0.5, ["red", "blue"][i % 2], i % 3]
                                           for i in range(60)]
    path = write_csv(rows)
    remote_path = "ram://remote-csv/data.csv"
    tf.io.gfile.copy(str(path), remote_path, overwrite=True)
    overrides = ("data.name=csv", "data.label=kind")
    remote = load_splits(make_cfg(*overrides, f"data.path={remote_path}"))
    local = load_splits(make_cfg(*overrides, f"data.path={path}"))
    assert remote.spec == local.spec
    for split in ("train", "val", "test"):
        for a, b in zip(getattr(remote, split).load(), getattr(local, split).load(),
                        strict=True):
            np.testing.assert_array_equal(a, b)
