"""Scaling suite: training throughput with 1, 2 and 4 logical CPU devices.

TensorFlow fixes the devices when it starts, so each device count runs in its own
process (``python -m bigmodel_tf.benchmarks.scaling CONFIG N``), which trains the model
under MirroredStrategy over N logical CPUs (the default strategy for N = 1) on in-memory
data and prints one JSON line. The per-replica batch stays ``data.batch_size`` (weak
scaling: the global batch grows with the devices). Logical devices share the physical
cores, so on a 2-core machine more than 2 devices cannot help; the table says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras

from bigmodel_tf.benchmarks.timing import fit_epoch_seconds
from bigmodel_tf.config import load_config, save_config
from bigmodel_tf.data import build_dataset, load_splits
from bigmodel_tf.models import build_model
from bigmodel_tf.training.runtime import configure_runtime
from bigmodel_tf.training.trainer import compile_model
from bigmodel_tf.training.workers import usable_cores

RESULT_PREFIX = "SCALING "


def measure(cfg) -> dict:
    """Throughput of the configured training in this process (devices chosen by cfg)."""
    strategy = configure_runtime(cfg.runtime, cfg.train, cfg.seed)
    splits, replicas = load_splits(cfg), strategy.num_replicas_in_sync
    global_batch = cfg.data.batch_size * replicas
    with strategy.scope():
        train = build_dataset(splits, "train", cfg.data, cfg.seed, global_batch,
                              replicas=replicas)
        steps = int(train.cardinality())
        model = build_model(cfg.model, splits.spec)
        compile_model(model, cfg.train, cfg.runtime, cfg.task, splits.spec.task, steps)
    keras.mixed_precision.set_global_policy("float32")
    seconds = []
    for _ in range(cfg.benchmark.repeats):
        seconds += fit_epoch_seconds(model, train, cfg.benchmark.epochs)
    return {"replicas": replicas, "global_batch": global_batch,
            "examples_per_sec": round(splits.train.size / min(seconds), 1)}


def run_scaling(cfg, run_dir: Path) -> dict:
    """One process per device count in ``benchmark.devices``; speed-up vs the first."""
    config = run_dir / "scaling-config.yaml"
    save_config(cfg, config)
    rows = []
    for devices in cfg.benchmark.devices:
        proc = subprocess.run(
            [sys.executable, "-m", "bigmodel_tf.benchmarks.scaling", str(config), str(devices)],
            capture_output=True, text=True, env=dict(os.environ), check=False,
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)),
                    None)
        if proc.returncode or line is None:
            raise RuntimeError(f"scaling with {devices} device(s) failed:\n{proc.stderr[-2000:]}")
        rows.append({"devices": devices, **json.loads(line[len(RESULT_PREFIX):])})
    base = rows[0]["examples_per_sec"]
    for row in rows:
        row["speedup"] = round(row["examples_per_sec"] / base, 3)
        row["efficiency"] = round(row["speedup"] * rows[0]["devices"] / row["devices"], 3)
    cores = usable_cores()
    return {"physical_cores": cores, "per_replica_batch": cfg.data.batch_size, "rows": rows}


def main(argv: list[str]) -> int:
    """Subprocess entry: ``CONFIG DEVICES``; prints ``SCALING {json}``."""
    config, devices = argv
    cfg = load_config(config, [f"runtime.logical_cpus={devices}"])
    print(RESULT_PREFIX + json.dumps(measure(cfg)), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main(sys.argv[1:]))
