"""Input suite: the same TFRecord records read three ways, examples per second.

(a) a Python generator: a pure-Python GZIP TFRecord reader, one ``tf.train.Example`` parsed
    (and a PNG-encoded image decoded by PIL) per record in Python, wrapped in
    ``Dataset.from_generator`` and batched — the common first attempt;
(b) plain tf.data: ``TFRecordDataset`` -> per-example parse (and decode) -> batch,
    without cache, prefetch or parallelism;
(c) the project's pipeline, ``build_dataset`` of the train split: shards read in order, batched
    into blocks, parsed a block at a time and cached parsed, each block permuted per epoch
    and cut into batches, prefetched (data/pipeline.py, data/order.py).

Every variant reads the train split of the same folder written by ``bigmodel data
convert``. Each pass is timed; (c)'s first pass fills its cache and is reported apart
("cold"); the ratios use the best pass of each variant.
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from bigmodel_tf.benchmarks.timing import iterate_seconds, summary
from bigmodel_tf.config import BenchmarkConfig, DataConfig, ExperimentConfig, with_changes
from bigmodel_tf.data import Splits, build_dataset, convert_to_tfrecord, tfrecord_io


def read_gzip_records(path: str | Path) -> Iterator[bytes]:
    """The records of one GZIP TFRecord file, read in pure Python (CRCs not checked)."""
    with gzip.open(path, "rb") as handle:
        while header := handle.read(12):  # uint64 length + uint32 CRC of the length
            (length,) = struct.unpack("<Q", header[:8])
            record = handle.read(length)
            handle.read(4)  # CRC of the data
            yield record


def generator_dataset(files: list[str], fmt: tfrecord_io.RecordFormat,
                      batch: int) -> tf.data.Dataset:
    """(a) Records of the format ``fmt`` parsed one by one in a Python generator, batched
    by tf.data."""
    label = tf.float32 if fmt.regression else tf.int32

    def examples():
        for path in files:
            for record in read_gzip_records(path):
                feature = tf.train.Example.FromString(record).features.feature
                if fmt.encoding == "png":
                    x = np.asarray(Image.open(io.BytesIO(feature["image"].bytes_list.value[0])),
                                   np.float32)
                else:
                    x = np.asarray(feature["x"].float_list.value, np.float32)
                y = feature["y"]
                yield x.reshape(fmt.input_shape), (y.float_list if fmt.regression
                                                   else y.int64_list).value[0]

    signature = (tf.TensorSpec(fmt.input_shape, tf.float32), tf.TensorSpec([], label))
    return tf.data.Dataset.from_generator(examples, output_signature=signature).batch(batch)


def plain_dataset(files: list[str], fmt: tfrecord_io.RecordFormat,
                  batch: int) -> tf.data.Dataset:
    """(b) TFRecordDataset, one example of the format ``fmt`` parsed per call, batched;
    nothing else."""

    def parse_one(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x, y = fmt.parse_batch(record[None])
        return x[0], y[0]

    return tf.data.TFRecordDataset(files, compression_type=tfrecord_io.COMPRESSION).map(
        parse_one).batch(batch)


def records_config(cfg: ExperimentConfig, out: Path) -> ExperimentConfig:
    """The config reading TFRecords: its own folder, or its data set converted once into
    ``out`` (as `bigmodel data convert` writes it; kept for a later run)."""
    if cfg.data.name == "tfrecord":
        return cfg
    if not (out / "spec.json").exists():
        convert_to_tfrecord(cfg, out)
    return with_changes(cfg, {"data.name": "tfrecord", "data.path": out})


def _passes(dataset: tf.data.Dataset, passes: int) -> tuple[list[float], int]:
    """Seconds of each of ``passes`` reads of ``dataset`` and the examples of one pass."""
    seconds, examples = [], 0
    for _ in range(passes):
        elapsed, examples = iterate_seconds(dataset)
        seconds.append(elapsed)
    return seconds, examples


def run_input(splits: Splits, records: DataConfig, seed: int,
              benchmark: BenchmarkConfig) -> dict:
    """The three variants side by side on the TFRecord folder of ``records`` (the data
    section reading it; ``splits`` are its records in memory), best of benchmark.repeats."""
    fmt = tfrecord_io.RecordFormat.of(tfrecord_io.read_meta(records.path))
    files = tfrecord_io.shard_files(records.path, "train")
    batch, passes = records.batch_size, benchmark.input_passes
    times: dict[str, list[float]] = {"generator": [], "plain_tf_data": [], "pipeline": []}
    cold, examples = [], 0
    for _ in range(benchmark.repeats):
        for name, make in (
            ("generator", lambda: generator_dataset(files, fmt, batch)),
            ("plain_tf_data", lambda: plain_dataset(files, fmt, batch)),
            ("pipeline", lambda: build_dataset(splits, "train", records, seed, batch)),
        ):
            # The generator is slow: one pass per repeat is enough to time it.
            seconds, examples = _passes(make(), 1 if name == "generator" else passes)
            if name == "pipeline":
                cold.append(seconds.pop(0))
            times[name] += seconds
    rows = {name: summary(seconds, examples) for name, seconds in times.items()}
    rows["pipeline_cold_first_pass"] = summary(cold, examples)
    best = {name: rows[name]["best_per_sec"] for name in times}
    return {
        "examples_per_pass": examples,
        "batch_size": batch,
        "shards": len(files),
        "encoding": fmt.encoding,
        "examples_per_sec": rows,
        "ratios": {
            "pipeline_vs_generator": round(best["pipeline"] / best["generator"], 2),
            "pipeline_vs_plain_tf_data": round(best["pipeline"] / best["plain_tf_data"], 2),
            "plain_tf_data_vs_generator": round(best["plain_tf_data"] / best["generator"], 2),
            "cold_pipeline_vs_generator": round(
                rows["pipeline_cold_first_pass"]["best_per_sec"] / best["generator"], 2),
        },
    }
