"""Cross-validation bookkeeping and the data stage's fold / train-fraction hook."""

import csv

import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.errors import ConfigError, DataError
from bigmodel_tf.evaluation.cv import summarize_folds, write_cv_table
from bigmodel_tf.evaluation.subruns import SUMMARY_METRICS


def fold(i, accuracy, roc_auc=0.9):
    """One fold's row as cross_validation builds it."""
    split = dict.fromkeys(SUMMARY_METRICS, 0.5) | {"accuracy": accuracy, "roc_auc": roc_auc}
    return {"fold": i, "run_dir": f"cv/fold_{i}", "epochs_run": 3, "val": split, "test": split}


def test_the_mean_is_the_mean_of_the_folds(tmp_path):
    folds = [fold(0, 0.9), fold(1, 0.8), fold(2, 0.7, roc_auc=None)]
    summary = summarize_folds(folds)
    assert summary["mean"]["val"]["accuracy"] == pytest.approx(0.8)
    assert summary["std"]["val"]["accuracy"] == pytest.approx(0.1)  # sample std (ddof=1)
    assert summary["mean"]["val"]["roc_auc"] is None  # a fold without it: no mean
    write_cv_table(summary, tmp_path / "cv.csv")
    rows = list(csv.DictReader((tmp_path / "cv.csv").open()))
    assert [r["fold"] for r in rows] == ["0", "1", "2", "mean", "std"]
    assert float(rows[3]["val_accuracy"]) == pytest.approx(np.mean([0.9, 0.8, 0.7]))


def test_folds_partition_train_and_val_and_keep_the_test_split():
    base = load_splits(load_config(None, ["data.name=wine"]))
    pool = np.concatenate([base.train.x, base.val.x])
    seen = []
    for k in range(3):
        s = load_splits(load_config(None, ["data.name=wine", "data.cv_folds=3",
                                           f"data.cv_fold={k}"]))
        np.testing.assert_array_equal(s.test.x, base.test.x)
        assert len(s.train.y) + len(s.val.y) == len(pool)
        pool_counts = np.bincount(np.concatenate([base.train.y, base.val.y]))
        assert np.abs(np.bincount(s.val.y) - pool_counts / 3).max() <= 1  # stratified
        seen.append({row.tobytes() for row in s.val.x})
    assert not (seen[0] & seen[1]) and not (seen[1] & seen[2])
    assert len(seen[0] | seen[1] | seen[2]) == len({row.tobytes() for row in pool})


def test_train_fraction_keeps_a_stratified_subset():
    full = load_splits(load_config(None, ["data.name=wine"]))
    part = load_splits(load_config(None, ["data.name=wine", "data.train_fraction=0.5"]))
    assert abs(len(part.train.y) - len(full.train.y) / 2) <= 1
    np.testing.assert_array_equal(part.val.x, full.val.x)
    np.testing.assert_array_equal(part.test.x, full.test.x)
    assert part.spec.class_counts != full.spec.class_counts  # statistics of the subset


def test_impossible_folds_and_fractions_are_clear_errors():
    with pytest.raises(DataError, match="data.train_fraction=0.01"):
        load_splits(load_config(None, ["data.name=wine", "data.train_fraction=0.01"]))
    with pytest.raises(ConfigError, match="data.cv_fold: expected a fold id below"):
        load_config(None, ["data.cv_folds=3", "data.cv_fold=3"])
    with pytest.raises(ConfigError, match="train.cv_folds: expected 0"):
        load_config(None, ["train.cv_folds=1"])
    with pytest.raises(ConfigError, match="data.name=tfrecord"):
        load_config(None, ["data.name=tfrecord", "data.path=x", "train.cv_folds=3"])
    with pytest.raises(ConfigError, match="evaluation.profile_batches"):
        load_config(None, ["evaluation.profile_batches=[5]"])
    with pytest.raises(ConfigError, match="evaluation.baselines"):
        load_config(None, ["evaluation.baselines=[xgboost]"])
