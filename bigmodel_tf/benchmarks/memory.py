"""Memory suite: the peak resident memory of `bigmodel train` as the data grows.

The same generated images (images.py: 32x32 RGB PNG files) at benchmark.memory_examples
times each of benchmark.memory_scales (1x, 4x, 16x), each read two ways: (a) the TFRecord
folder `bigmodel data convert` writes from them (``inputs.records_config``) and
(b) the PNG folder itself, data.name=image_dir. For each, one `bigmodel train` subprocess
trains the configured model for one epoch at a small batch (so activations do not hide
what the data costs), with data.cache=none and a sub-run's light settings (no export,
baselines, interpretation or tracking), and evaluates it as the command does. The
pipeline permutes the train split in blocks of data.shuffle_buffer decoded examples, a
working set bounded by that setting, not by the data: the children use the smallest
scale's train split as the buffer, so every scale holds the same block and what the
ratio shows is what grows with the data itself.

A child's peak RSS is the kernel's high-water mark of its own process image (VmHWM in
/proc/self/status), which the child prints as it exits. Its rusage would not do:
``getrusage(RUSAGE_CHILDREN)`` is the largest of every child so far, and on Linux even
a child's own ``ru_maxrss`` starts from its parent's RSS at the fork, carried across the
exec. With the data streamed, the peak does
not grow with the data: the figure is the ratio of the peak at the largest scale to the
peak at the smallest, per format. The data's size on disk is reported per scale.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bigmodel_tf.benchmarks.images import CHANNELS, IMAGE_SIZE, image_dir_config, write_image_folder
from bigmodel_tf.benchmarks.inputs import records_config
from bigmodel_tf.config import ExperimentConfig, save_config, with_changes
from bigmodel_tf.data import tfrecord_io
from bigmodel_tf.experiments.settings import LIGHT_SETTINGS

BATCH = 32
FORMATS = ("tfrecord", "image_dir")
_OUTPUT_SHOWN = 2000  # characters of a failed child's output in the error
_PEAK_PREFIX = "PEAK_RSS_KIB "
# The child: `bigmodel ARGV` as `python -m bigmodel_tf.cli` runs it, then the peak RSS of
# its own process image (VmHWM) on the last line, whatever the exit.
_CHILD = f"""
import runpy
try:
    runpy.run_module("bigmodel_tf.cli", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        line = next(ln for ln in status if ln.startswith("VmHWM:"))
    print("{_PEAK_PREFIX}" + line.split()[1], flush=True)
"""


def _mib(size: float) -> float:
    """Bytes as MiB, rounded."""
    return round(size / 2**20, 1)


def folder_bytes(folder: str | Path) -> int:
    """The size of every file under ``folder``."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def peak_rss(argv: list[str], output: Path) -> dict:
    """Run ``bigmodel *argv`` in a subprocess to its end, its output into ``output``: the
    child's own peak RSS (MiB) and wall seconds; a failed run is a RuntimeError ending in
    its output."""
    started = time.perf_counter()
    with output.open("wb") as log:
        code = subprocess.run([sys.executable, "-c", _CHILD, *argv], stdout=log,
                              stderr=subprocess.STDOUT, check=False).returncode
    seconds = time.perf_counter() - started
    text = output.read_text(encoding="utf-8", errors="replace")
    peak = [ln.split()[1] for ln in text.splitlines() if ln.startswith(_PEAK_PREFIX)]
    if code or not peak:
        raise RuntimeError(f"bigmodel {' '.join(argv)}: failed (exit {code}):\n"
                           f"{text[-_OUTPUT_SHOWN:]}")
    return {"peak_rss_mib": _mib(int(peak[-1]) * 1024), "seconds": round(seconds, 1)}


def train_peak(source: ExperimentConfig, shuffle_buffer: int, folder: Path) -> dict:
    """Peak RSS and seconds of one `bigmodel train` epoch on ``source``'s data, run in
    ``folder`` (its config, output and run directory)."""
    folder.mkdir(parents=True)
    config = folder / "config.yaml"
    save_config(with_changes(source, {**LIGHT_SETTINGS, "data.cache": "none",
                                      "data.shuffle_buffer": shuffle_buffer,
                                      "data.batch_size": BATCH, "train.epochs": 1}), config)
    return peak_rss(["train", "--config", str(config), "--run-dir", str(folder / "run")],
                    folder / "output.log")


def run_memory(cfg: ExperimentConfig, run_dir: Path) -> dict:
    """Peak RSS of one training epoch per scale and format; the data are kept under
    run_dir/memory."""
    work, rows, buffer = run_dir / "memory", [], 0
    with tempfile.TemporaryDirectory(prefix="bigmodel-memory-") as runs:
        for scale in sorted(set(cfg.benchmark.memory_scales)):
            examples = scale * cfg.benchmark.memory_examples
            images = image_dir_config(cfg, write_image_folder(
                work / f"images-{scale}x", examples, cfg.seed))
            records = records_config(images, work / f"records-{scale}x")
            buffer = buffer or tfrecord_io.read_meta(records.data.path)["split_sizes"]["train"]
            row: dict = {"scale": scale, "examples": examples}
            for name, source in (("tfrecord", records), ("image_dir", images)):
                measured = train_peak(source, buffer, Path(runs) / f"{name}-{scale}x")
                row.setdefault("disk_mib", {})[name] = _mib(folder_bytes(source.data.path))
                row.setdefault("peak_rss_mib", {})[name] = measured["peak_rss_mib"]
                row.setdefault("train_seconds", {})[name] = measured["seconds"]
                print(f"bigmodel: benchmark memory: {scale}x ({examples:,} images) {name}: "
                      f"peak RSS {measured['peak_rss_mib']:,.0f} MiB, "
                      f"{measured['seconds']:.0f} s", flush=True)
            rows.append(row)
    smallest, largest = rows[0], rows[-1]
    return {
        "image_shape": [IMAGE_SIZE, IMAGE_SIZE, CHANNELS],
        "batch_size": BATCH,
        "shuffle_buffer": buffer,
        "model": cfg.model.name,
        "rows": rows,
        "compared": f"{largest['scale']}x / {smallest['scale']}x",
        "ratio": {name: round(largest["peak_rss_mib"][name] / smallest["peak_rss_mib"][name], 3)
                  for name in FORMATS},
    }
