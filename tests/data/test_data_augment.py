"""Augmentation with Keras preprocessing layers: train split only, images only."""

import numpy as np
import pytest

from bigmodel_tf.data import load_splits
from bigmodel_tf.errors import ConfigError
from tests.pipelines import config_dataset

AUGMENT = ("data.augment.flip=horizontal", "data.augment.rotation=0.05",
           "data.augment.zoom=0.1", "data.augment.translation=0.1",
           "data.augment.contrast=0.3")


def _first_batch(ds):
    return next(ds.as_numpy_iterator())


def test_augmentation_changes_train_images_only(make_cfg):
    plain = make_cfg()
    augmented = make_cfg(*AUGMENT)
    x_plain, y_plain, _ = _first_batch(config_dataset(plain, "train"))
    ds = config_dataset(augmented, "train")
    x_aug, y_aug, _ = _first_batch(ds)
    np.testing.assert_array_equal(y_aug, y_plain)  # same seeded shuffle, same examples
    assert x_aug.shape == x_plain.shape
    assert np.abs(x_aug - x_plain).mean() > 0.5  # digits pixels are 0..16
    assert x_aug.min() >= 0.0 and x_aug.max() <= 16.0  # contrast clips to the raw range
    assert not np.array_equal(_first_batch(ds)[0], x_aug)  # new transforms each epoch
    splits = load_splits(augmented)
    for split in ("val", "test"):
        x, _ = _first_batch(config_dataset(augmented, split))
        np.testing.assert_array_equal(x, getattr(splits, split).x[: len(x)])


def test_each_option_alone_changes_images(make_cfg):
    x_plain = _first_batch(config_dataset(make_cfg(), "train"))[0]
    for option in AUGMENT:
        x = _first_batch(config_dataset(make_cfg(option), "train"))[0]
        assert not np.allclose(x, x_plain), option


def test_augmenting_tabular_data_is_a_config_error(make_cfg):
    with pytest.raises(ConfigError, match="data.augment.rotation: image augmentation does not"):
        config_dataset(make_cfg("data.name=iris", "data.augment.rotation=0.1"), "train")
