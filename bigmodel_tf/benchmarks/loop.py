"""Input-bound and overhead suites: what the pipeline and `bigmodel train` add to a step.

input_bound: the same model trains on the project's TFRecord pipeline and on one batch
    of tensors already in memory, repeated (no input work at all); the ratio of their step
    times is near 1 when the pipeline keeps up with training. Measured on each TFRecord
    folder it is given (the runner: the config's data, and the generated PNG images of
    images.py, which `bigmodel data convert` stores PNG-encoded, decoded in the
    pipeline), with the folder's encoding; the suite's ratio is the largest.
overhead: the same model, data and fit, once bare (no callbacks) and once with every
    callback `bigmodel train` adds (backup, checkpoint, CSV log, TensorBoard with
    histograms, blow-up guard, learning-rate logger, data order, preemption), each timed
    from inside as well. Evaluation and export are separate stages of the command, not
    overhead of training, and are not timed here.

Times are per epoch after each fit's first (tracing) epoch, best of the repeats, with the
two variants alternating.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from bigmodel_tf.benchmarks.timing import TimedCallback, fit_epoch_seconds
from bigmodel_tf.data import build_dataset, load_splits, tfrecord_io
from bigmodel_tf.models import build_model
from bigmodel_tf.training.callbacks import build_callbacks
from bigmodel_tf.training.trainer import compile_model


def compiled_model(cfg, steps_per_epoch: int) -> keras.Model:
    """The configured model, built under the configured precision and compiled."""
    keras.mixed_precision.set_global_policy(cfg.runtime.mixed_precision)
    keras.utils.set_random_seed(cfg.seed)
    spec = load_splits(cfg).spec
    model = build_model(cfg.model, spec)
    compile_model(model, cfg.train, cfg.runtime, cfg.task, spec.task, steps_per_epoch)
    keras.mixed_precision.set_global_policy("float32")
    return model


def input_bound_row(records_cfg, repeats: int) -> dict:
    """Step time on one TFRecord folder's pipeline vs on in-memory tensors."""
    real = build_dataset(load_splits(records_cfg), "train", records_cfg.data, records_cfg.seed,
                         records_cfg.data.batch_size)
    steps = int(real.cardinality())
    in_memory = tf.data.Dataset.from_tensors(next(iter(real))).repeat(steps)
    model = compiled_model(records_cfg, steps)
    epochs = records_cfg.benchmark.epochs
    times: dict[str, list[float]] = {"pipeline": [], "in_memory": []}
    for repeat in range(repeats):
        order = ("pipeline", "in_memory") if repeat % 2 == 0 else ("in_memory", "pipeline")
        for name in order:
            data = real if name == "pipeline" else in_memory
            times[name] += fit_epoch_seconds(model, data, epochs)
    step = {name: min(seconds) / steps for name, seconds in times.items()}
    return {
        "encoding": tfrecord_io.RecordFormat.of(
            tfrecord_io.read_meta(records_cfg.data.path)).encoding,
        "steps_per_epoch": steps,
        "batch_size": records_cfg.data.batch_size,
        "step_ms": {name: round(1000 * s, 3) for name, s in step.items()},
        "epoch_seconds": {name: [round(s, 4) for s in v] for name, v in times.items()},
        "ratio": round(step["pipeline"] / step["in_memory"], 3),
    }


def run_input_bound(sources: dict, repeats: int) -> dict:
    """``input_bound_row`` of each {name: config reading a TFRecord folder}; the ratio is
    the largest of theirs."""
    rows = [{"data": name, **input_bound_row(records, repeats)}
            for name, records in sources.items()]
    return {"rows": rows, "ratio": max(row["ratio"] for row in rows)}


def run_overhead(cfg, repeats: int) -> dict:
    """Epoch time of fit with `bigmodel train`'s callbacks vs bare fit, and where it goes.

    Two measures: the difference of the median epoch times (end to end, but as noisy as
    the machine's load; the median of many alternating epochs, as the best epoch of each
    is one lucky sample), and the time spent inside the callbacks themselves, timed directly,
    over the bare epoch time (robust to load; it misses only effects outside the hooks,
    such as a per-batch hook making Keras wait for each step).
    """
    splits, batch = load_splits(cfg), cfg.data.batch_size
    train, val = (build_dataset(splits, split, cfg.data, cfg.seed, batch)
                  for split in ("train", "val"))
    steps = int(train.cardinality())
    model = compiled_model(cfg, steps)
    epochs = cfg.benchmark.epochs
    times: dict[str, list[float]] = {"bare_fit": [], "bigmodel_train": []}
    per_callback: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bigmodel-overhead-") as folder:
        for repeat in range(repeats):
            order = (("bare_fit", "bigmodel_train") if repeat % 2 == 0
                     else ("bigmodel_train", "bare_fit"))
            for name in order:
                if name == "bare_fit":
                    times[name] += fit_epoch_seconds(model, train, epochs,
                                                     validation_data=val)
                    continue
                run_dir = Path(folder) / f"run-{repeat}"  # a fresh run: nothing to restore
                timed = [TimedCallback(c) for c in build_callbacks(
                    cfg.train, run_dir, steps * batch,
                    profile_batches=cfg.evaluation.profile_batches)]
                times[name] += fit_epoch_seconds(model, train, epochs, timed,
                                                 validation_data=val)
                for t in timed:
                    key = type(t.inner).__name__
                    per_callback[key] = per_callback.get(key, 0.0) + t.epoch_seconds
    best = {name: min(seconds) for name, seconds in times.items()}
    median = {name: statistics.median(seconds) for name, seconds in times.items()}
    per_epoch = {name: total / (repeats * (epochs - 1))  # the epochs timed
                 for name, total in per_callback.items()}
    inside = sum(per_epoch.values())
    return {
        "steps_per_epoch": steps,
        "epoch_seconds": {name: [round(s, 4) for s in v] for name, v in times.items()},
        "best_epoch_seconds": {name: round(s, 4) for name, s in best.items()},
        "callback_seconds_per_epoch": {name: round(s, 4) for name, s in per_epoch.items()},
        "median_epoch_seconds": {name: round(median[name], 4) for name in median},
        "overhead_end_to_end": round(median["bigmodel_train"] / median["bare_fit"] - 1, 4),
        "overhead": round(inside / best["bare_fit"], 4),
    }
