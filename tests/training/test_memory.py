"""Memory estimates of `bigmodel doctor --memory` against the measured allocator peak."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.models import build_model
from bigmodel_tf.training.memory import (
    MemoryEstimate,
    estimate_memory,
    measure_peak_bytes,
    optimizer_slots,
)
from bigmodel_tf.training.trainer import compile_model

BFC = "TF_CPU_ALLOCATOR_USE_BFC"


@pytest.mark.parametrize(("overrides", "slots"), [
    (["train.optimizer=adam"], 2),
    (["train.optimizer=sgd", "train.momentum=0"], 0),
    (["train.optimizer=sgd", "train.ema=true", "train.gradient_accumulation_steps=4"], 3),
])
def test_optimizer_slots(overrides, slots):
    assert optimizer_slots(load_config(None, overrides).train) == slots


def test_largest_batch_that_fits():
    estimate = MemoryEstimate(parameters=1000, trainable=1000, parameter_bytes=4000,
                              gradient_bytes=4000, optimizer_bytes=8000, saved_per_example=100,
                              forward_per_example=300, saved_fixed=0, forward_fixed=1000,
                              batch_size=10)
    assert estimate.low() == 16_000 + 1000 and estimate.high() == 17_000 + 3000
    assert estimate.largest_batch(20_000) == 10  # (20000 - 16000 - 1000) // 300
    assert estimate.largest_batch(20_000, safe=False) == 40
    assert estimate.largest_batch(1000) == 0


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_measured_peak_lies_within_the_estimate(precision):
    """The CNN on digits at batch 512: TensorFlow's allocator peak within [low, high].

    The peak needs an allocator that keeps statistics: on a CPU that is TensorFlow's BFC
    allocator (``TF_CPU_ALLOCATOR_USE_BFC``, read when TensorFlow starts; without oneDNN
    the default CPU allocator keeps none), so the test runs itself in a fresh process with
    it on.
    """
    if os.environ.get(BFC) != "true":
        node = f"{__file__}::test_measured_peak_lies_within_the_estimate[{precision}]"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-q", "-s", node],
                              env={**os.environ, BFC: "true"}, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:]
        return
    cfg = load_config(None, [f"runtime.mixed_precision={precision}", "data.batch_size=512"])
    spec = load_splits(cfg).spec
    keras.mixed_precision.set_global_policy(precision)
    model = build_model(cfg.model, spec)
    estimate = estimate_memory(cfg.train, cfg.data.batch_size, model, spec.input_shape)
    compile_model(model, cfg.train, cfg.runtime, cfg.task, spec.task, steps_per_epoch=3)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 16, size=(512, *spec.input_shape)).astype("float32")
    y = rng.integers(0, spec.num_classes, size=512)
    peak = measure_peak_bytes(model, x, y, batch=512)
    print(f"{precision}: estimate {estimate.low() / 2**20:.1f}-{estimate.high() / 2**20:.1f} "
          f"MiB, measured peak {peak / 2**20:.1f} MiB")
    assert estimate.low() <= peak <= estimate.high()
    assert estimate.largest_batch(estimate.high(2048)) == 2048
