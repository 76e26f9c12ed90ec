"""TFLite suite: latency and throughput of each variant `bigmodel compress` wrote.

Reads ``compression.json`` of the newest ``<export.dir>/<export.name>-tflite/<N>/`` and
re-measures every variant in this run with the compression stage's own LiteRT measurement
(compression/litert_eval.py: median single-example latency, batched throughput), next to
the figures measured when it was compressed (the difference is the machine's load). The
files are checked against the folder's manifest.json first: a changed byte is refused.
The suite does not compress anything: without compression.json it says so.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bigmodel_tf import remote
from bigmodel_tf.config import CompressionConfig
from bigmodel_tf.data import ArraySplit
from bigmodel_tf.errors import require_extra
from bigmodel_tf.manifest import verify_folder


def run_tflite(folder: Path | str | None, c: CompressionConfig, test: ArraySplit) -> dict:
    """Latency, throughput and accuracy on ``test`` of every TFLite variant in ``folder``
    (a TFLite version of compress, a local copy of it for a URL; None: there is none),
    measured now as the compression section says."""
    if remote.is_url(folder):
        with remote.local_folder(folder) as local:
            return {**run_tflite(local, c, test), "tflite_dir": folder}
    if folder is None or not (folder / "compression.json").exists():
        return {"status": "skipped",
                "reason": f"no compression.json in {folder or 'a TFLite version'}: run "
                          "`bigmodel compress --run RUN_DIR` with this config first; this "
                          "suite re-measures the variants it wrote"}
    require_extra("compress", "the benchmark's tflite suite")
    from bigmodel_tf.compression import litert_eval  # LiteRT: the [compress] extra
    report = folder / "compression.json"
    verify_folder(folder)  # every .tflite file and compression.json against manifest.json
    variants = json.loads(report.read_text(encoding="utf-8"))["variants"]
    rows = {}
    for name, entry in variants.items():
        path = folder / entry["file"]
        runner = litert_eval.interpreter(path, min(c.throughput_batch, len(test.x)),
                                         c.num_threads)
        litert_eval.predict(runner, test.x[:1])  # warm-up
        started = time.perf_counter()
        probs = litert_eval.predict(runner, test.x)
        seconds = time.perf_counter() - started
        rows[name] = {
            **litert_eval.file_sizes(path),
            "latency_ms": round(litert_eval.latency_ms(path, test.x, c.latency_runs,
                                                       c.num_threads), 4),
            "throughput_examples_per_sec": round(len(test.x) / seconds, 1),
            "test_accuracy": round(float(np.mean(probs.argmax(axis=1) == test.y)), 4),
            "latency_ms_when_compressed": entry.get("latency_ms"),
        }
    return {"status": "measured", "tflite_dir": str(folder), "threads": c.num_threads,
            "variants": rows}
