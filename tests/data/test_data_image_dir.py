"""The image_dir source: class folders of mixed-size images, channels, resizing, errors."""

import shutil

import numpy as np
import pytest

from bigmodel_tf.data import load_splits
from bigmodel_tf.errors import DataError


def _cfg(make_cfg, root, *extra):
    return make_cfg("data.name=image_dir", f"data.path={root}", *extra)


@pytest.mark.parametrize("channels", [1, 3])
def test_image_dir_loads_resized_images(make_cfg, image_folder, channels):
    cfg = _cfg(make_cfg, image_folder, "data.image_size=[6,9]", f"data.channels={channels}")
    splits = load_splits(cfg)
    spec = splits.spec
    assert spec.kind == "image" and spec.input_shape == [6, 9, channels]
    assert spec.class_names == ["cat", "dog", "fox"]
    assert spec.value_range == [0.0, 255.0]
    x = np.concatenate([splits.train.load()[0], splits.val.load()[0], splits.test.load()[0]])
    assert x.shape == (30, 6, 9, channels) and x.min() >= 0 and x.max() <= 255
    # Class k is bright in the k-th third of the width: check the class means.
    y = np.concatenate([splits.train.y, splits.val.y, splits.test.y])
    for k in range(3):
        columns = x[y == k].mean(axis=(0, 1, 3))
        assert columns[3 * k : 3 * k + 3].mean() > columns.mean()


def test_image_dir_ignores_hidden_and_non_image_files(make_cfg, image_folder):
    (image_folder / "cat" / "notes.txt").write_text("not an image")
    (image_folder / ".cache").mkdir()
    splits = load_splits(_cfg(make_cfg, image_folder, "data.image_size=[5,5]"))
    assert splits.spec.class_names == ["cat", "dog", "fox"]
    assert len(splits.train.y) + len(splits.val.y) + len(splits.test.y) == 30


def test_truncated_image_is_named(make_cfg, image_folder):
    broken = image_folder / "dog" / "3.png"
    broken.write_bytes(broken.read_bytes()[:60])
    with pytest.raises(DataError, match=f"cannot read image {broken}") as info:
        load_splits(_cfg(make_cfg, image_folder))
    assert "\n" not in str(info.value)


def test_unreadable_image_is_named(make_cfg, image_folder):
    fake = image_folder / "fox" / "fake.jpg"
    fake.write_bytes(b"this is not a jpeg")
    with pytest.raises(DataError, match=f"cannot read image {fake}"):
        load_splits(_cfg(make_cfg, image_folder))


def test_fewer_than_two_class_folders(make_cfg, image_folder):
    shutil.rmtree(image_folder / "dog")
    shutil.rmtree(image_folder / "fox")
    with pytest.raises(DataError, match=r"one sub-folder per class \(at least 2\), found 1"):
        load_splits(_cfg(make_cfg, image_folder))


def test_empty_class_folder_and_missing_folder(make_cfg, image_folder, tmp_path):
    (image_folder / "emu").mkdir()
    with pytest.raises(DataError, match="class folder 'emu' has no image files"):
        load_splits(_cfg(make_cfg, image_folder))
    with pytest.raises(DataError, match="folder not found"):
        load_splits(_cfg(make_cfg, tmp_path / "nowhere"))
