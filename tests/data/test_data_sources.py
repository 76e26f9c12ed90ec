"""Built-in sources: scikit-learn data sets, synthetic data and keras.datasets offline."""

import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from bigmodel_tf.data import LOADERS, keras_sources, load_splits
from bigmodel_tf.data.raw import FEATURE_LIMIT, check_values, encode_labels
from bigmodel_tf.errors import ConfigError, DataError


@pytest.mark.parametrize(
    ("name", "kind", "shape", "classes", "total"),
    [
        ("digits", "image", [8, 8, 1], 10, 1797),
        ("breast_cancer", "tabular", [30], 2, 569),
        ("wine", "tabular", [13], 3, 178),
        ("iris", "tabular", [4], 3, 150),
        ("synthetic_images", "image", [16, 16, 3], 3, 2000),
        ("synthetic_tabular", "tabular", [20], 3, 2000),
    ],
)
def test_builtin_sources_load_with_their_shapes(make_cfg, name, kind, shape, classes, total):
    splits = load_splits(make_cfg(f"data.name={name}"))
    spec = splits.spec
    assert (spec.kind, spec.input_shape, spec.num_classes) == (kind, shape, classes)
    assert sum(len(getattr(splits, s).y) for s in ("train", "val", "test")) == total
    for part in (splits.train, splits.val, splits.test):
        assert part.x.dtype == np.float32 and part.y.dtype == np.int32
        assert list(part.x.shape[1:]) == shape
        assert set(np.unique(part.y)) == set(range(classes))
    assert len(spec.mean) == len(spec.variance) == shape[-1]
    assert (spec.feature_names is None) == (kind == "image")
    assert (spec.value_range is None) == (kind == "tabular")


def test_digits_keeps_raw_pixel_range(make_cfg):
    splits = load_splits(make_cfg())  # digits is the default
    assert splits.spec.value_range == [0.0, 16.0]
    assert splits.train.x.min() == 0.0 and splits.train.x.max() == 16.0
    assert splits.spec.class_names == [str(d) for d in range(10)]


def test_registry_names_match_the_config_choices():
    from typing import get_args, get_type_hints

    from bigmodel_tf.config import DataConfig

    names = set(get_args(get_type_hints(DataConfig)["name"]))
    assert set(LOADERS) == names - {"tfrecord", "image_dir", "csv"}  # streamed, not loaded


def test_synthetic_class_proportions_are_exact(make_cfg):
    cfg = make_cfg(
        "data.name=synthetic_tabular", "data.synthetic.num_examples=500",
        "data.synthetic.class_proportions=[0.6,0.3,0.1]",
    )
    splits = load_splits(cfg)
    counts = sum(np.bincount(getattr(splits, s).y, minlength=3) for s in ("train", "val", "test"))
    assert counts.tolist() == [300, 150, 50]


@pytest.mark.parametrize("name", ["synthetic_images", "synthetic_tabular"])
def test_synthetic_data_is_learnable_and_seeded(make_cfg, name):
    cfg = make_cfg(f"data.name={name}", "data.synthetic.num_examples=600", "data.channels=1")
    splits = load_splits(cfg)
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    model = LogisticRegression(max_iter=300).fit(flat(splits.train.x), splits.train.y)
    assert model.score(flat(splits.val.x), splits.val.y) > 0.6  # chance is 1/3
    again = load_splits(make_cfg(f"data.name={name}", "data.synthetic.num_examples=600",
                                 "data.channels=1", "seed=7"))
    assert not np.array_equal(again.train.x[:5], splits.train.x[:5])


def test_synthetic_tabular_needs_enough_features(make_cfg):
    cfg = make_cfg("data.name=synthetic_tabular", "data.synthetic.num_features=1",
                   "data.synthetic.num_classes=3")
    with pytest.raises(ConfigError, match="data.synthetic.num_features"):
        load_splits(cfg)


def test_keras_dataset_offline_fails_fast_with_a_clear_error(make_cfg, monkeypatch, tmp_path):
    if keras_sources._reachable("storage.googleapis.com"):
        pytest.skip("the download host is reachable: this test checks the offline path")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        load_splits(make_cfg("data.name=mnist"))
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert message.startswith("data.name=mnist: not available: no local copy at ")
    assert str(tmp_path / ".keras" / "datasets" / "mnist.npz") in message
    assert "no network?" in message and "\n" not in message


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan, 3e38, -2e19])
def test_non_finite_and_out_of_range_features_are_named(value):
    x = np.zeros((4, 3), np.float32)
    x[2, 1] = value
    with pytest.raises(DataError, match=r"src: .*at example 2, flattened feature 1 is NaN, "
                                        r"infinite or beyond ±1\.8e19"):
        check_values(x, "src")
    with pytest.raises(DataError, match="at example 2, feature 'b' is"):
        check_values(x, "src", ["a", "b", "c"])
    check_values(np.full((2, 2), FEATURE_LIMIT, np.float32), "src")


def test_labels_sort_numerically_for_integers_and_as_text_otherwise():
    y, names = encode_labels(["10", "2", "1", "02"], "here")
    assert names == ["1", "2", "10"] and y.tolist() == [2, 1, 0, 1]
    y, names = encode_labels(["b", "a", "c"], "here")
    assert names == ["a", "b", "c"] and y.tolist() == [1, 0, 2]
    with pytest.raises(DataError, match="here: expected at least 2 classes, found 1"):
        encode_labels(["a", "a"], "here")
