"""Reproducibility: same seed -> the same batches and, with runtime.deterministic=true,
bit-identical weights and metrics across processes (also under MirroredStrategy on
logical CPUs); another seed changes them. The order of the train batches is a function
of (seed, epoch) only.
"""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.data.order import set_epoch
from tests.reliability.batch_hash import batch_hashes
from tests.reliability.conftest import (
    HERE,
    assert_same_weights,
    bigmodel,
    final_weights,
    train_experiment,
)


def hashes_in_new_process(*overrides: str) -> dict:
    """batch_hashes of the first 5 batches, computed by a fresh Python process."""
    done = subprocess.run([sys.executable, str(HERE / "batch_hash.py"), "5", *overrides],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_batches_depend_on_seed_and_epoch_only():
    cfg = load_config(overrides=["data.batch_size=32"])
    first = batch_hashes(cfg, 5)
    assert len(set(first.values())) == 3  # every epoch has its own order
    # A new dataset object, its epochs visited in another order: the same batches.
    assert batch_hashes(cfg, 5, epochs=(2, 0, 1)) == first
    other = batch_hashes(load_config(overrides=["data.batch_size=32", "seed=7"]), 5)
    assert not set(other.values()) & set(first.values())


def test_one_iterator_over_the_repeated_dataset_keeps_each_epochs_order():
    # How fit reads it (fit_inputs): one iterator for the whole fit, prefetching into the
    # next pass; the counter is set once, at the fit's first epoch (a resume's, here 1).
    from bigmodel_tf.training.trainer import fit_inputs
    from tests.pipelines import config_dataset

    cfg = load_config(overrides=["data.batch_size=32"])
    inputs = fit_inputs(config_dataset(cfg, "train"))
    steps = inputs["steps_per_epoch"]
    expected = batch_hashes(cfg, steps)  # a fresh pass per epoch
    for start in (0, 1):
        set_epoch(start)
        batches = iter(inputs["x"].as_numpy_iterator())
        for epoch in range(start, 3):
            digest = hashlib.sha256()
            for _ in range(steps):
                for tensor in next(batches):
                    digest.update(tensor.tobytes())
            assert digest.hexdigest() == expected[str(epoch)], (start, epoch)
        del batches  # its prefetch must not touch the counter once the next start is set


def test_a_pass_without_the_callback_still_gets_a_new_order():
    from tests.pipelines import config_dataset

    dataset = config_dataset(load_config(overrides=["data.name=iris"]), "train")
    set_epoch(0)
    orders = [np.concatenate([b[1] for b in dataset.as_numpy_iterator()]) for _ in range(2)]
    assert not np.array_equal(*orders)


@pytest.mark.slow
def test_two_processes_build_the_same_batches_in_the_same_order():
    first = hashes_in_new_process()
    assert hashes_in_new_process() == first  # (another seed: see the test above)


@pytest.mark.slow
def test_same_seed_gives_identical_weights_across_processes(tmp_path, reference_run):
    """The run's resolved config.yaml (its seed included), trained again in a new process,
    reproduces its weights and metrics bit for bit."""
    again = bigmodel(tmp_path, "--config", str(reference_run / "config.yaml"),
                     "--run-dir", "again")
    assert again.returncode == 0, again.stderr[-3000:]
    assert_same_weights(tmp_path / "again", reference_run)
    a, b = (json.loads((r / "metrics.json").read_text()) for r in (tmp_path / "again",
                                                                   reference_run))
    for split in ("train", "val", "test"):
        assert a[split] == b[split]


@pytest.mark.slow
def test_another_seed_changes_the_weights(tmp_path, reference_run):
    other = train_experiment(tmp_path, "other", "seed=7")
    assert other.returncode == 0, other.stderr[-3000:]
    pairs = zip(final_weights(tmp_path / "other"), final_weights(reference_run), strict=True)
    assert any(not np.array_equal(a, b) for a, b in pairs)


@pytest.mark.slow
def test_mirrored_strategy_on_logical_cpus_is_bit_identical(tmp_path):
    mirrored = ["runtime.logical_cpus=2", "data.batch_size=32", "train.epochs=3"]
    for run in ("first", "second"):
        done = train_experiment(tmp_path, run, *mirrored)
        assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "first" / "metrics.json").read_text())
    assert (metrics["strategy"], metrics["replicas"]) == ("MirroredStrategy", 2)
    assert_same_weights(tmp_path / "first", tmp_path / "second")
    assert metrics["test"] == json.loads((tmp_path / "second" / "metrics.json").read_text())["test"]


@pytest.fixture(scope="module")
def streamed_sources(tmp_path_factory) -> dict[str, list[str]]:
    """--set overrides of two streamed sources: digits as PNG TFRecords, and an image
    folder (generated PNG files, 4 classes)."""
    from PIL import Image

    from bigmodel_tf.data import convert_to_tfrecord

    root = tmp_path_factory.mktemp("streamed")
    records = convert_to_tfrecord(load_config(overrides=["data.shards=3"]), root / "records")
    rng = np.random.default_rng(0)
    for k in range(4):
        (root / "images" / f"class{k}").mkdir(parents=True)
        for i in range(40):
            pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / "images" / f"class{k}" / f"{i}.png")
    return {"tfrecord": ["data.name=tfrecord", f"data.path={records}"],
            "image_dir": ["data.name=image_dir", f"data.path={root / 'images'}",
                          "data.image_size=[8,8]"]}


@pytest.mark.parametrize("source", ["tfrecord", "image_dir"])
def test_streamed_batches_depend_on_seed_and_epoch_only(streamed_sources, source):
    cfg = load_config(overrides=[*streamed_sources[source], "data.batch_size=16",
                                 "data.cache=none"])
    first = batch_hashes(cfg, 4)
    assert len(set(first.values())) == 3
    assert batch_hashes(cfg, 4, epochs=(2, 0, 1)) == first  # a new dataset, other order


@pytest.mark.slow
def test_two_processes_stream_the_same_batches(streamed_sources):
    overrides = [*streamed_sources["tfrecord"], "data.batch_size=16", "data.cache=none"]
    assert hashes_in_new_process(*overrides) == batch_hashes(load_config(overrides=overrides), 5)
