"""Stratified seeded splits, train-only statistics and the in-process cache."""

import numpy as np
import pytest

from bigmodel_tf.data import load_splits

SPLITS = ("train", "val", "test")


def test_split_sizes_and_stratification(make_cfg):
    splits = load_splits(make_cfg("data.name=synthetic_tabular",
                                  "data.synthetic.class_proportions=[0.7,0.2,0.1]"))
    sizes = {s: len(getattr(splits, s).y) for s in SPLITS}
    assert sizes == {"train": 1300, "val": 300, "test": 400}  # 2000 x (0.65, 0.15, 0.2)
    whole = np.array([0.7, 0.2, 0.1])
    for s in SPLITS:
        share = np.bincount(getattr(splits, s).y, minlength=3) / sizes[s]
        np.testing.assert_allclose(share, whole, atol=0.01)
    assert splits.spec.class_counts == {"class_0": 910, "class_1": 260, "class_2": 130}


def test_splits_do_not_overlap(make_cfg):
    splits = load_splits(make_cfg("data.name=synthetic_tabular"))
    rows = {s: {r.tobytes() for r in getattr(splits, s).x} for s in SPLITS}
    assert sum(len(r) for r in rows.values()) == 2000  # every row distinct...
    assert not (rows["train"] & rows["val"] or rows["train"] & rows["test"]
                or rows["val"] & rows["test"])  # ...and in one split only


def test_split_is_seeded(make_cfg):
    first = load_splits(make_cfg("seed=1"))
    again = load_splits(make_cfg("seed=1", "data.batch_size=7"))  # pipeline-only change
    other = load_splits(make_cfg("seed=2"))
    np.testing.assert_array_equal(first.test.x, again.test.x)
    np.testing.assert_array_equal(first.train.y, again.train.y)
    assert not np.array_equal(first.test.x, other.test.x)


def test_normalization_statistics_come_from_train_only(make_cfg):
    splits = load_splits(make_cfg())  # digits: per-channel statistics
    train = splits.train.x.astype(np.float64)
    assert splits.spec.mean == pytest.approx([train.mean()], rel=1e-9)
    assert splits.spec.variance == pytest.approx([train.var()], rel=1e-9)
    whole = np.concatenate([splits.train.x, splits.val.x, splits.test.x]).astype(np.float64)
    assert splits.spec.mean != pytest.approx([whole.mean()], rel=1e-6)

    tab = load_splits(make_cfg("data.name=wine"))
    np.testing.assert_allclose(tab.spec.mean, tab.train.x.mean(axis=0, dtype=np.float64),
                               rtol=1e-9)
    np.testing.assert_allclose(tab.spec.variance, tab.train.x.var(axis=0, dtype=np.float64),
                               rtol=1e-9)


def test_constant_feature_gets_a_safe_variance(make_cfg, write_csv):
    rows = [["a", "same", "label"]] + [[i, 5, i % 2] for i in range(30)]
    cfg = make_cfg("data.name=csv", f"data.path={write_csv(rows)}", "data.label=label")
    spec = load_splits(cfg).spec
    assert spec.mean[1] == 5.0 and spec.variance[1] == 1.0
    assert spec.variance[0] > 1.0


def test_cache_returns_shared_read_only_arrays_and_a_private_spec(make_cfg):
    cfg = make_cfg("data.name=iris")
    first, second = load_splits(cfg), load_splits(cfg)
    assert first.train.x is second.train.x
    assert first.spec == second.spec and first.spec is not second.spec
    with pytest.raises(ValueError, match="read-only"):
        first.train.x[0, 0] = 1.0
    first.spec.class_names.append("oops")
    assert load_splits(cfg).spec.num_classes == 3
