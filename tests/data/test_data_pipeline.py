"""build_dataset: element structure, global vs per-replica batches, sharding, weights."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.data import ArraySplit, build_dataset, load_splits
from bigmodel_tf.data.pipeline import padded_batches
from bigmodel_tf.errors import ConfigError
from tests.pipelines import config_dataset


def _epoch(ds):
    """All batches of one pass, concatenated per element position."""
    batches = list(ds.as_numpy_iterator())
    return [np.concatenate([b[i] for b in batches]) for i in range(len(batches[0]))]


def test_train_and_eval_element_structure(make_cfg):
    cfg = make_cfg("data.batch_size=32")
    splits = load_splits(cfg)
    train = build_dataset(splits, "train", cfg.data, cfg.seed, 32)
    x, y, w = train.element_spec
    assert x.shape.as_list() == [None, 8, 8, 1] and x.dtype == tf.float32
    assert y.dtype == tf.int32 and w.dtype == tf.float32
    assert train.cardinality() == int(np.ceil(len(splits.train.y) / 32))
    assert train.options().deterministic is True
    first = next(iter(train))
    assert first[0].shape[0] == 32 and np.all(first[2].numpy() == 1.0)  # class_weight=none
    xs, ys, _ = _epoch(train)
    assert sorted(ys.tolist()) == sorted(splits.train.y.tolist())  # every example once
    assert xs.min() >= 0 and xs.max() <= 16  # raw, unnormalized

    for split in ("val", "test"):
        ds = build_dataset(splits, split, cfg.data, cfg.seed, 32)
        assert len(ds.element_spec) == 2
        xs, ys = _epoch(ds)  # in the order of the split's arrays
        np.testing.assert_array_equal(xs, getattr(splits, split).x)
        np.testing.assert_array_equal(ys, getattr(splits, split).y)


def test_train_is_reshuffled_each_epoch_but_seeded(make_cfg):
    cfg = make_cfg("data.name=iris")
    ds = config_dataset(cfg, "train")
    first, second = _epoch(ds)[1], _epoch(ds)[1]
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(_epoch(config_dataset(cfg, "train"))[1], first)


def test_the_global_batch_is_the_callers_not_the_ambient_strategys(make_cfg, monkeypatch):
    def ambient():
        raise AssertionError("the pipeline asked the ambient strategy")

    monkeypatch.setattr(tf.distribute, "get_strategy", ambient)
    cfg = make_cfg("data.batch_size=16")
    splits = load_splits(cfg)
    x, y, w = next(iter(build_dataset(splits, "val", cfg.data, cfg.seed, 48, replicas=3)))
    assert x.shape[0] == 48 and w.shape[0] == 48  # padded: full batches for 3 replicas
    train = build_dataset(splits, "train", cfg.data, cfg.seed, 48, replicas=3)
    assert train.cardinality() == -(-len(splits.train.y) // 48)  # topped up to whole batches
    assert next(iter(train))[0].shape[0] == 48


def test_input_context_gives_per_replica_batches_and_disjoint_shards(make_cfg):
    cfg = make_cfg("data.name=wine")
    splits = load_splits(cfg)
    seen = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=pipeline, num_replicas_in_sync=2
        )
        ds = build_dataset(splits, "train", cfg.data, cfg.seed, 16, input_context=context)
        assert next(iter(ds))[0].shape[0] == 8  # get_per_replica_batch_size(16)
        seen.append(_epoch(ds)[0])
    rows = [{r.tobytes() for r in part} for part in seen]
    assert not rows[0] & rows[1]
    assert len(rows[0] | rows[1]) == len(load_splits(cfg).train.y)


@pytest.mark.parametrize("val_fraction", [0.02, 0.047, 0.1])  # 3, 8 and 15 iris examples
@pytest.mark.parametrize("batch", [8, 16])
@pytest.mark.parametrize(("pipelines", "replicas"), [(1, 2), (2, 2), (2, 4)])
def test_eval_splits_give_every_replica_full_batches(make_cfg, val_fraction, batch,
                                                     pipelines, replicas):
    """Padded with zero-weight rows: same full batches per replica, each example once."""
    cfg = make_cfg("data.name=iris", f"data.val_fraction={val_fraction}",
                   f"data.batch_size={batch}")
    val = load_splits(cfg).val
    rows, batches = [], set()
    for pipeline in range(pipelines):
        context = tf.distribute.InputContext(pipelines, pipeline, replicas)
        parts = list(config_dataset(cfg, "val", input_context=context).as_numpy_iterator())
        batches.add(len(parts))
        for x, y, w in parts:
            assert len(y) == batch and set(np.unique(w)) <= {0.0, 1.0}
            rows += [(r.tobytes(), label)
                     for r, label, weight in zip(x, y, w, strict=True) if weight]
    assert len(batches) == 1 and batches.pop() * pipelines % replicas == 0
    expected = [(r.tobytes(), label) for r, label in zip(val.x, val.y, strict=True)]
    assert sorted(rows) == sorted(expected)


def test_a_one_example_split_pads_to_one_full_batch():
    x, y = np.ones((1, 4), np.float32), np.array([2], np.int32)
    (xs, ys, ws), = padded_batches(ArraySplit(x, y).batches(16), 1, [4], tf.int32,
                                   16).as_numpy_iterator()
    assert xs.shape == (16, 4) and ys[0] == 2 and ws.tolist() == [1.0] + [0.0] * 15


def test_balanced_sample_weights(make_cfg):
    cfg = make_cfg("data.name=synthetic_tabular", "data.synthetic.num_examples=400",
                   "data.synthetic.class_proportions=[0.6,0.3,0.1]",
                   "data.imbalance.class_weight=balanced")
    _, ys, ws = _epoch(config_dataset(cfg, "train"))
    counts = np.bincount(ys)
    expected = len(ys) / (3 * counts)  # scikit-learn's 'balanced'
    np.testing.assert_allclose(ws, expected[ys], rtol=1e-6)
    per_class_total = np.bincount(ys, weights=ws)
    np.testing.assert_allclose(per_class_total, len(ys) / 3, rtol=1e-5)


def test_pipeline_knobs(make_cfg):
    cfg = make_cfg("data.name=iris", "data.num_parallel_calls=0", "data.prefetch=0",
                   "data.deterministic=false", "data.shuffle_buffer=1")
    ds = config_dataset(cfg, "train")
    assert ds.options().deterministic is False
    # Buffer 1: blocks of one batch, so each batch holds the examples of the unshuffled one.
    batch, labels = cfg.data.batch_size, load_splits(cfg).train.y
    for i, (_, y, _) in enumerate(ds.as_numpy_iterator()):
        np.testing.assert_array_equal(np.sort(y), np.sort(labels[i * batch:(i + 1) * batch]))
    with pytest.raises(ValueError, match="split: expected one of"):
        config_dataset(cfg, "validation")


def test_file_cache_needs_a_folder(make_cfg, tmp_path):
    from bigmodel_tf.data import convert_to_tfrecord

    folder = convert_to_tfrecord(make_cfg("data.name=iris"), tmp_path / "records")
    cfg = make_cfg("data.name=tfrecord", f"data.path={folder}", "data.cache=file")
    with pytest.raises(ConfigError, match="data.cache_dir: required when data.cache=file"):
        config_dataset(cfg, "val")
    cached = make_cfg("data.name=tfrecord", f"data.path={folder}", "data.cache=file",
                      f"data.cache_dir={tmp_path / 'cache'}")
    first = _epoch(config_dataset(cached, "val"))
    assert any((tmp_path / "cache").iterdir())
    second = _epoch(config_dataset(cached, "val"))  # served from the cache files
    np.testing.assert_array_equal(first[0], second[0])


@pytest.mark.slow
def test_global_and_per_replica_batches_under_mirrored_strategy(tmp_path):
    """A real MirroredStrategy on 2 logical CPUs (needs a fresh process to split the CPU)."""
    script = textwrap.dedent(
        """
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from bigmodel_tf.config import load_config
        from bigmodel_tf.data import build_dataset, load_splits
        cfg = load_config(overrides=["data.batch_size=16"])
        splits = load_splits(cfg)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        replicas = strategy.num_replicas_in_sync
        with strategy.scope():
            ds = build_dataset(splits, "train", cfg.data, cfg.seed, 16 * replicas,
                               replicas=replicas)
        print(next(iter(ds))[0].shape[0])
        dist = strategy.distribute_datasets_from_function(
            lambda ctx: build_dataset(splits, "train", cfg.data, cfg.seed, 16 * replicas,
                                      input_context=ctx))
        batch = next(iter(dist))
        print([t.shape[0] for t in strategy.experimental_local_results(batch[0])])
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, check=True)
    lines = result.stdout.strip().splitlines()
    assert lines[-2:] == ["32", "[16, 16]"]
