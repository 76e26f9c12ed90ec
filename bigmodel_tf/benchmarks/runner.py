"""`bigmodel benchmark`: run the configured suites and write benchmark.json and .md.

Reads the experiment config (model, data, batch, precision) and its ``benchmark``
section (suites, epochs, repeats, device counts); writes into the run directory
(default ``runs/benchmark-<time>``; it must be new, empty or made by this command, see
bigmodel_tf/io.py): config.yaml, records/ (the data set as TFRecords, for the input
suites), image_folder/ and image_folder_records/ (generated PNG images, for the
image_folder and input_bound suites), memory/ (the memory suite's images and TFRecords),
benchmark.json and benchmark.md, each written atomically. The machine, its load
average before and after, and the performance targets the project holds itself to (met
or not) are part of the result.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import keras
import tensorflow as tf

from bigmodel_tf.benchmarks import compute, images, inputs, loop, memory, scaling, tabular, tflite
from bigmodel_tf.benchmarks.report import markdown
from bigmodel_tf.benchmarks.timing import load_average
from bigmodel_tf.compression.layout import newest_tflite_dir
from bigmodel_tf.config import ExperimentConfig, export_name, save_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.io import atomic_write, claim_dir, write_json
from bigmodel_tf.training.workers import usable_cores

# The performance targets: (suite, how to read the value, comparison, target).
TARGETS = {
    "pipeline vs generator (x, examples/s)": (
        "input", lambda r: r["ratios"]["pipeline_vs_generator"], "ge", 5.0),
    "input-bound ratio (step time, pipeline / in memory; the larger of the two data)": (
        "input_bound", lambda r: r["ratio"], "le", 1.10),
    "`bigmodel train` overhead vs bare fit (time in its callbacks / epoch)": (
        "overhead", lambda r: r["overhead"], "le", 0.05),
    "peak RSS of one epoch, largest / smallest data, TFRecords": (
        "memory", lambda r: r["ratio"]["tfrecord"], "le", 1.15),
    "peak RSS of one epoch, largest / smallest data, PNG folder": (
        "memory", lambda r: r["ratio"]["image_dir"], "le", 1.15),
    "image folder pipeline vs Keras image_dataset_from_directory (examples/s)": (
        "image_folder", lambda r: r["ratio"], "ge", 1.0),
}


def machine_info() -> dict:
    """CPU, cores, memory and library versions of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        cpu = next(ln.split(":", 1)[1].strip() for ln in text.splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = usable_cores()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": cores, "memory_gb": round(memory, 1),
            "tensorflow": tf.__version__, "keras": keras.__version__}


def check_targets(suites: dict) -> dict:
    """Each target whose suite ran: value, target and whether it is met."""
    checks = {}
    for name, (suite, read, comparison, target) in TARGETS.items():
        if suite in suites:
            value = read(suites[suite])
            met = value >= target if comparison == "ge" else value <= target
            checks[name] = {"value": value, "target": f"{'≥' if comparison == 'ge' else '≤'} "
                                                      f"{target:g}", "met": met}
    return checks


def _run_suites(cfg: ExperimentConfig, run_dir: Path) -> dict:
    """Every configured suite, in a fixed order; {suite: result}."""
    repeats, wanted = cfg.benchmark.repeats, set(cfg.benchmark.suites)
    records = (inputs.records_config(cfg, run_dir / "records")
               if wanted & {"input", "input_bound"} else None)
    suites: dict = {}
    steps = [
        ("input", lambda: inputs.run_input(load_splits(records), records.data, records.seed,
                                           cfg.benchmark)),
        ("input_bound", lambda: loop.run_input_bound(
            {cfg.data.name: records,
             "generated PNG images": images.generated_records(cfg, run_dir)}, repeats)),
        ("overhead", lambda: loop.run_overhead(cfg, repeats)),
        ("precision", lambda: compute.run_precision(cfg, repeats)),
        ("utilization", lambda: compute.run_utilization(cfg, repeats, suites.get("precision"))),
        ("scaling", lambda: scaling.run_scaling(cfg, run_dir)),
        ("tflite", lambda: tflite.run_tflite(newest_tflite_dir(cfg.export.dir, export_name(cfg)),
                                             cfg.compression, load_splits(cfg).test)),
        ("tabular_defaults", lambda: tabular.run_tabular_defaults(cfg.benchmark.seeds, run_dir)),
        ("memory", lambda: memory.run_memory(cfg, run_dir)),
        ("image_folder", lambda: images.run_image_folder(cfg, run_dir)),
    ]
    for name, run in steps:
        if name in wanted:
            started = time.perf_counter()
            suites[name] = run()
            print(f"bigmodel: benchmark {name}: {time.perf_counter() - started:.0f} s",
                  flush=True)
    return suites


def run_benchmarks(cfg: ExperimentConfig, run_dir: str | Path | None = None) -> tuple:
    """Run the suites of ``cfg.benchmark``; returns the paths of the JSON and Markdown."""
    run_dir = Path(run_dir or f"runs/benchmark-{time.strftime('%Y%m%d-%H%M%S')}")
    claim_dir(run_dir, "benchmark")
    save_config(cfg, run_dir / "config.yaml")
    result = {"machine": machine_info(), "load_average_before": load_average(),
              "repeats": cfg.benchmark.repeats,
              "command": f"bigmodel benchmark --config {run_dir / 'config.yaml'}"}
    result["suites"] = _run_suites(cfg, run_dir)
    result["load_average_after"] = load_average()
    result["targets"] = check_targets(result["suites"])
    json_path, markdown_path = run_dir / "benchmark.json", run_dir / "benchmark.md"
    write_json(json_path, result)
    atomic_write(markdown_path, markdown(result) + "\n")
    return json_path, markdown_path
