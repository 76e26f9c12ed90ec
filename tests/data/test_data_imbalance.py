"""Resampling of the train split: oversample, undersample (tf.data) and SMOTE (tabular)."""

import logging

import numpy as np
import pytest

from bigmodel_tf.data import load_splits
from bigmodel_tf.errors import ConfigError
from tests.pipelines import config_dataset

IMBALANCED = ("data.name=synthetic_tabular", "data.synthetic.num_examples=600",
              "data.synthetic.class_proportions=[0.7,0.2,0.1]")


def _labels(ds) -> np.ndarray:
    return np.concatenate([batch[1] for batch in ds.as_numpy_iterator()])


@pytest.mark.parametrize(("mode", "pick"), [("oversample", max), ("undersample", min)])
def test_over_and_undersampling_balance_the_classes(make_cfg, caplog, mode, pick):
    cfg = make_cfg(*IMBALANCED, f"data.imbalance.resample={mode}")
    before = np.bincount(load_splits(cfg).train.y)
    with caplog.at_level(logging.INFO, logger="bigmodel_tf.data"):
        ds = config_dataset(cfg, "train")
    y = _labels(ds)
    per_class = pick(before)
    assert len(y) == 3 * per_class
    counts = np.bincount(y, minlength=3)
    # Equal-weight random sampling: each class about 1/3 of the epoch (binomial spread).
    spread = 4 * np.sqrt(len(y) * (1 / 3) * (2 / 3))
    assert np.all(np.abs(counts - per_class) < spread), counts
    text = caplog.text
    assert f"before {mode}" in text and f"after {mode}" in text
    assert not np.array_equal(_labels(ds), y)  # a new sample every epoch


def test_smote_balances_tabular_classes_exactly(make_cfg, caplog):
    cfg = make_cfg(*IMBALANCED, "data.imbalance.resample=smote")
    before = np.bincount(load_splits(cfg).train.y)
    with caplog.at_level(logging.INFO, logger="bigmodel_tf.data"):
        batches = list(config_dataset(cfg, "train").as_numpy_iterator())
    y = np.concatenate([b[1] for b in batches])
    assert np.bincount(y).tolist() == [before.max()] * 3
    assert "after smote" in caplog.text
    x = np.concatenate([b[0] for b in batches])
    assert x.shape == (3 * before.max(), 20) and np.isfinite(x).all()


def test_smote_on_images_is_a_config_error(make_cfg):
    with pytest.raises(ConfigError) as info:
        config_dataset(make_cfg("data.imbalance.resample=smote"), "train")
    message = str(info.value)
    assert message.startswith("data.imbalance.resample=smote: works on tabular data only")
    assert "oversample" in message and "\n" not in message


def test_resampling_leaves_eval_splits_alone(make_cfg):
    cfg = make_cfg(*IMBALANCED, "data.imbalance.resample=oversample")
    np.testing.assert_array_equal(_labels(config_dataset(cfg, "val")), load_splits(cfg).val.y)
