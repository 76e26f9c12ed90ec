"""Measure a TFLite model in the LiteRT interpreter: metrics, size, latency, parity.

Reads a ``.tflite`` file, the raw test split and the probabilities of the Keras model the
variant was converted from; returns the plain dict stored per variant in
compression.json. Inference uses ``ai_edge_litert.interpreter.Interpreter``
(``tf.lite.Interpreter`` is deprecated). Models with int8 inputs/outputs get their
inputs quantized and outputs dequantized with the tensors' own scale and zero point, so
every variant takes the same raw float inputs here.

Latency is the median wall time of single-example ``invoke`` calls (after warm-up);
throughput runs the whole test split in batches of ``throughput_batch``. On a shared CPU
both are noisy: compare variants measured in the same run, never against fixed numbers.
"""

from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from bigmodel_tf.config import CompressionConfig
from bigmodel_tf.tasks.classification.metrics import classification_metrics

WARMUP_INVOKES = 3


def interpreter(path: Path, batch: int, num_threads: int) -> Interpreter:
    """A LiteRT interpreter for ``path`` with its input resized to ``batch`` examples."""
    runner = Interpreter(model_path=str(path), num_threads=num_threads)
    detail = runner.get_input_details()[0]
    runner.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
    runner.allocate_tensors()
    return runner


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    """Raw float inputs in the input tensor's dtype (quantized when it is an integer type)."""
    dtype = detail["dtype"]
    if not np.issubdtype(dtype, np.integer):
        return x.astype(dtype)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    """Float32 outputs from the output tensor (dequantized when it is an integer type)."""
    if not np.issubdtype(detail["dtype"], np.integer):
        return y.astype(np.float32)
    scale, zero_point = detail["quantization"]
    return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)


def run_batch(runner: Interpreter, x: np.ndarray) -> np.ndarray:
    """Invoke ``runner`` on one batch of raw inputs (its allocated batch size) -> float32."""
    inp, out = runner.get_input_details()[0], runner.get_output_details()[0]
    runner.set_tensor(inp["index"], _quantize(x, inp))
    runner.invoke()
    return _dequantize(runner.get_tensor(out["index"]), out)


def predict(runner: Interpreter, x: np.ndarray) -> np.ndarray:
    """Probabilities for all of ``x``, in batches of the runner's size (last one padded)."""
    batch = int(runner.get_input_details()[0]["shape"][0])
    outputs = []
    for start in range(0, len(x), batch):
        chunk = x[start : start + batch]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], batch - len(chunk), axis=0)])
        outputs.append(run_batch(runner, padded)[: len(chunk)])
    return np.concatenate(outputs)


def latency_ms(path: Path, x: np.ndarray, runs: int, num_threads: int) -> float:
    """Median wall time (ms) of one single-example invoke, over ``runs`` test examples."""
    runner = interpreter(path, 1, num_threads)
    inp = runner.get_input_details()[0]
    for i in range(WARMUP_INVOKES):
        run_batch(runner, x[i % len(x)][None])
    times = []
    for i in range(runs):
        runner.set_tensor(inp["index"], _quantize(x[i % len(x)][None], inp))
        started = time.perf_counter()
        runner.invoke()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def parity(probs: np.ndarray, reference: np.ndarray) -> dict:
    """Agreement of a variant with its Keras model: top-1 match rate, max abs difference.

    Also the number of distinct classes each predicts: an int8 model stuck on one class
    is the sign of a bad representative data set (docs/architecture.md).
    """
    return {
        "top1_match": float(np.mean(probs.argmax(axis=1) == reference.argmax(axis=1))),
        "max_abs_diff": float(np.max(np.abs(probs - reference))),
        "predicted_classes": int(len(np.unique(probs.argmax(axis=1)))),
        "reference_predicted_classes": int(len(np.unique(reference.argmax(axis=1)))),
    }


def file_sizes(path: Path) -> dict:
    """Size of a file in bytes, raw and gzip-compressed (level 9)."""
    data = Path(path).read_bytes()
    return {"bytes": len(data), "gzip_bytes": len(gzip.compress(data, compresslevel=9))}


def tensor_info(detail: dict) -> dict:
    """Dtype, and scale and zero point for quantized tensors, of an input/output."""
    info = {"dtype": np.dtype(detail["dtype"]).name}
    if np.issubdtype(detail["dtype"], np.integer):
        info["scale"], info["zero_point"] = (float(v) for v in detail["quantization"])
    return info


def measure(
    path: Path, x: np.ndarray, y: np.ndarray, reference: np.ndarray, c: CompressionConfig,
    class_names: list[str] | None = None,
) -> dict:
    """Metrics, sizes, latency, throughput and parity of one TFLite variant on the test split."""
    runner = interpreter(path, min(c.throughput_batch, len(x)), c.num_threads)
    run_batch(runner, x[: runner.get_input_details()[0]["shape"][0]])  # warm-up
    started = time.perf_counter()
    probs = predict(runner, x)
    seconds = time.perf_counter() - started
    return {
        **file_sizes(path),
        "test": classification_metrics(y, probs, class_names),
        "latency_ms": latency_ms(path, x, c.latency_runs, c.num_threads),
        "throughput_examples_per_sec": len(x) / seconds,
        "parity": parity(probs, reference),
        "input": tensor_info(runner.get_input_details()[0]),
        "output": tensor_info(runner.get_output_details()[0]),
    }
