"""Precision/compiler and utilization suites: how fast the model computes, and how close
to the machine's matrix-multiply speed.

precision: training throughput (examples/s, in-memory data) of float32 and
    mixed_bfloat16, each with XLA (``jit_compile``) off and on; ratios to float32 without
    XLA. (mixed_float16 is left out: TensorFlow has no fast float16 CPU kernels; see the
    doctor.)
utilization: the model's training FLOPs per example (TensorFlow's profiler counts the
    forward pass; training is taken as 3x forward: the backward pass computes gradients
    for both activations and weights) times the measured throughput, against the
    measured FLOP/s of an n x n matmul in the same precision.
"""

from __future__ import annotations

import time

import keras
import tensorflow as tf

from bigmodel_tf.benchmarks.loop import compiled_model
from bigmodel_tf.benchmarks.timing import fit_epoch_seconds
from bigmodel_tf.config import with_changes
from bigmodel_tf.data import build_dataset, load_splits

COMBINATIONS = (("float32", False), ("mixed_bfloat16", False),
                ("float32", True), ("mixed_bfloat16", True))
MATMULS = 8  # chained per timed call, to amortize the dispatch
MATMUL_TIMINGS = 10  # timed calls per benchmark repeat


def _label(precision: str, jit: bool) -> str:
    """``float32`` / ``mixed_bfloat16+xla``."""
    return precision + ("+xla" if jit else "")


def run_precision(cfg, repeats: int) -> dict:
    """Training examples/s for each precision and compiler setting."""
    splits = load_splits(cfg)
    train = build_dataset(splits, "train", cfg.data, cfg.seed, cfg.data.batch_size)
    steps = int(train.cardinality())
    examples = splits.train.size
    models = {
        _label(p, jit): compiled_model(
            with_changes(cfg, {"runtime.mixed_precision": p, "runtime.jit_compile": jit}), steps)
        for p, jit in COMBINATIONS
    }
    times: dict[str, list[float]] = {name: [] for name in models}
    for repeat in range(repeats):
        names = list(models) if repeat % 2 == 0 else list(reversed(models))
        for name in names:
            times[name] += fit_epoch_seconds(models[name], train, cfg.benchmark.epochs)
    rate = {name: examples / min(seconds) for name, seconds in times.items()}
    return {
        "batch_size": cfg.data.batch_size,
        "examples_per_sec": {name: round(r, 1) for name, r in rate.items()},
        "ratio_to_float32": {name: round(r / rate["float32"], 3) for name, r in rate.items()},
    }


def forward_flops_per_example(model: keras.Model, input_shape: list[int]) -> int:
    """Floating-point operations of one example's inference pass (TensorFlow's profiler)."""
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"

    @tf.function(autograph=False)
    def forward(x):
        return model(x, training=False)

    def flops(batch: int) -> int:
        graph = forward.get_concrete_function(tf.TensorSpec([batch, *input_shape])).graph
        return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops

    return flops(2) - flops(1)  # what grows with the batch: per-example work


def matmul_flops_per_sec(size: int, dtype: tf.DType, repeats: int) -> float:
    """Best measured FLOP/s of chained ``size x size`` matmuls in ``dtype``."""
    a = tf.random.stateless_normal([size, size], seed=[1, 2], dtype=tf.float32)
    a = tf.cast(a / size**0.5, dtype)  # keeps the chained product's scale

    @tf.function
    def chain(x):
        for _ in range(MATMULS):
            x = tf.matmul(x, a)
        return x

    chain(a).numpy()  # trace and warm up
    best = float("inf")
    for _ in range(MATMUL_TIMINGS * repeats):  # short calls: many, for one quiet moment
        start = time.perf_counter()
        chain(a).numpy()
        best = min(best, time.perf_counter() - start)
    return MATMULS * 2 * size**3 / best


def run_utilization(cfg, repeats: int, precision_result: dict | None) -> dict:
    """Achieved training FLOP/s of the model vs measured matmul FLOP/s, per precision."""
    spec = load_splits(cfg).spec
    model = compiled_model(cfg, 1)
    forward = forward_flops_per_example(model, spec.input_shape)
    rates = (precision_result or run_precision(cfg, repeats))["examples_per_sec"]
    result = {"forward_flops_per_example": forward,
              "train_flops_per_example": 3 * forward, "matmul_size": cfg.benchmark.matmul_size}
    for precision, dtype in (("float32", tf.float32), ("mixed_bfloat16", tf.bfloat16)):
        peak = matmul_flops_per_sec(cfg.benchmark.matmul_size, dtype, repeats)
        achieved = 3 * forward * rates[precision]
        result[precision] = {
            "train_gflops_per_sec": round(achieved / 1e9, 3),
            "matmul_gflops_per_sec": round(peak / 1e9, 2),
            "utilization": round(achieved / peak, 4),
        }
    return result
