"""tf.data input pipelines: ``build_dataset(splits, split, data, seed, global_batch)``.

The pipeline takes what it is given: the split arrays and spec (``load_splits``' result),
the data section, the seed and the global batch the caller computed once; with a
``tf.distribute.InputContext`` (``distribute_datasets_from_function``), the per-replica
batch is ``input_context.get_per_replica_batch_size(global_batch)`` and the shard is the
context's input pipeline, as in Model Garden's ``InputReader``. Nothing here asks the
ambient strategy for its replicas.

Elements are batches: train yields ``(x, y, sample_weight)``, val and test ``(x, y)``,
with x raw float32 features (the model normalizes), y int32 class ids (float32 targets for
regression, spec.task) and sample_weight float32 (class weights; 1 for regression). Order
of the stages, following measurements (docs/architecture.md: vectorize first, then add
parallelism; no parallel interleave by default on 2 cores):

    source -> shard -> batch (blocks for train) -> parse (TFRecords) + class weights
           -> cache (TFRecords) -> permute blocks into batches (train) -> augment -> prefetch

The source is the in-memory split (``from_tensor_slices``), the resampled train stream
(imbalance.py), or for data.name=tfrecord the GZIP shards' serialized records, which are
batched first and then parsed together (``parse_example``) and cached parsed, so later
epochs neither decompress nor parse. Everything after the first batch works on whole
batches or blocks (order.py). val/test keep the order of ``splits.val`` / ``.test``.

Several replicas (``replicas`` sharing fit's global batch, or an input context's
replicas) get only full batches, so none is ever empty or uneven: the train pass is
topped up to whole global batches by repeating its first examples (fit's path; the
multi-worker loop repeats its stream instead), and val/test, read from memory then, are
padded with zero-weight examples and yield ``(x, y, sample_weight)`` with weight 1 for
every real example (the distributed test step, custom_loop.py, drops the zero-weight
rows before the loss and metrics).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from bigmodel_tf.config import DataConfig, ExperimentConfig, with_changes
from bigmodel_tf.data import order, tfrecord_io
from bigmodel_tf.data.augment import augmenter
from bigmodel_tf.data.imbalance import class_weights, resampled_train
from bigmodel_tf.data.splits import Splits, source_modified
from bigmodel_tf.errors import ConfigError


def whole_batches(examples: int, global_batch: int) -> int:
    """``examples`` rounded up to whole global batches (at least one when there are any)."""
    return -(-examples // global_batch) * global_batch


def padded_split(x: np.ndarray, y: np.ndarray, global_batch: int) -> tf.data.Dataset:
    """(x, y, sample_weight) examples padded to whole global batches with zero weights.

    The padding rows are zeros of class 0 with weight 0; every real example has weight 1.
    """
    pad = whole_batches(len(y), global_batch) - len(y)
    weights = np.concatenate([np.ones(len(y), np.float32), np.zeros(pad, np.float32)])
    x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
    y = np.concatenate([y, np.zeros(pad, y.dtype)])
    return tf.data.Dataset.from_tensor_slices((x, y, weights))


def _streams_records(data: DataConfig, resampled: bool) -> bool:
    """Whether a split is streamed from its TFRecord files rather than from memory.

    Resampling needs every example's class up front, and data.skip_corrupt trains on the
    records load_splits kept (streaming the files again would meet the bad ones).
    """
    return data.name == "tfrecord" and not resampled and not data.skip_corrupt


def shard_policy(data: DataConfig, split: str, num_input_pipelines: int) -> str:
    """How a split is divided between input pipelines (workers): OFF, FILE or DATA.

    FILE (each worker reads only its own shard files) when the train split is read from
    at least as many TFRecord files as there are pipelines; DATA (every worker reads all
    records and keeps every n-th) for in-memory data, resampled streams, too few files and
    val/test (padded in memory, so every worker gets the same number of full batches).
    """
    if num_input_pipelines <= 1:
        return "OFF"
    resampled = data.imbalance.resample != "none"
    if split == "train" and _streams_records(data, resampled) and (
        len(tfrecord_io.shard_files(data.path, split)) >= num_input_pipelines
    ):
        return "FILE"
    return "DATA"


def _records(
    path: str, split: str, size: int, input_context: tf.distribute.InputContext | None = None
) -> tf.data.Dataset:
    """Serialized records of one split's shards, read one shard after another.

    Sequential reading keeps the written order, which is the order of the in-memory
    split, so a TFRecord pipeline yields exactly the batches the in-memory one does (and
    trains to the same result). Parallel interleave made this slower on 2 cores
    (docs/architecture.md). The known size (checked by load_splits) gives the dataset a cardinality;
    with an input context (FILE sharding) this pipeline reads every n-th file only.
    """
    files = tfrecord_io.shard_files(path, split)
    if input_context is not None:
        files = files[input_context.input_pipeline_id::input_context.num_input_pipelines]
    ds = tf.data.Dataset.from_tensor_slices(files).interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type=tfrecord_io.COMPRESSION),
        cycle_length=1,
    )
    return ds if input_context is not None else ds.apply(
        tf.data.experimental.assert_cardinality(size)
    )


def _cache(
    ds: tf.data.Dataset, data: DataConfig, split: str,
    input_context: tf.distribute.InputContext | None,
) -> tf.data.Dataset:
    """Cache the records in memory or in a file under data.cache_dir (or not at all)."""
    if data.cache == "none":
        return ds
    if data.cache == "memory":
        return ds.cache()
    if not data.cache_dir:
        raise ConfigError("data.cache_dir: required when data.cache=file (a folder path)")
    folder = Path(data.cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # The file name changes with the source and the shard, so a stale cache is never read.
    source = f"{Path(data.path).resolve()}|{source_modified(data.path)}"
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    shard = (
        f"-{input_context.input_pipeline_id}of{input_context.num_input_pipelines}"
        if input_context is not None else ""
    )
    return ds.cache(str(folder / f"{split}-{digest}{shard}"))


def with_run_cache(cfg: ExperimentConfig, run_dir: Path) -> ExperimentConfig:
    """``cfg`` with ``data.cache_dir`` at ``<run_dir>/cache`` when data.cache=file names none."""
    if cfg.data.cache == "file" and not cfg.data.cache_dir:
        return with_changes(cfg, {"data.cache_dir": str(Path(run_dir) / "cache")})
    return cfg


def _autotune(value: int) -> int | None:
    """Map the config's -1 to tf.data.AUTOTUNE and 0 to None (sequential / off)."""
    return tf.data.AUTOTUNE if value == -1 else (value or None)


def build_dataset(
    splits: Splits, split: str, data: DataConfig, seed: int, global_batch: int, *,
    replicas: int = 1, input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Batches of one split of ``splits`` for Keras fit/evaluate or a distributed loop.

    ``global_batch`` is the batch of all replicas together (the caller computes it once).
    Without input_context the batches are global batches, which the caller's strategy
    divides between its ``replicas`` (Keras fit); with one
    (``distribute_datasets_from_function``) they are one replica's
    ``input_context.get_per_replica_batch_size(global_batch)`` examples of this input
    pipeline's shard, and the context's ``num_replicas_in_sync`` counts the replicas.
    """
    if split not in tfrecord_io.SPLIT_NAMES:
        raise ValueError(f"split: expected one of {tfrecord_io.SPLIT_NAMES}, got {split!r}")
    spec, arrays = splits.spec, getattr(splits, split)
    if input_context is not None:
        replicas = input_context.num_replicas_in_sync
        batch = input_context.get_per_replica_batch_size(global_batch)
    else:
        batch = global_batch
    training = split == "train"
    augment = augmenter(data, spec, seed) if training else None
    resampled = training and data.imbalance.resample != "none"
    padded = not training and replicas > 1
    # Resampling needs the class of every example up front, hence the in-memory arrays.
    streamed = _streams_records(data, resampled) and not padded

    policy = shard_policy(
        data, split, input_context.num_input_pipelines if input_context is not None else 1
    )
    label_dtype = np.float32 if spec.task == "regression" else np.int32
    if arrays.y.dtype != label_dtype:
        raise ValueError(f"{split} labels: expected {np.dtype(label_dtype).name} for "
                         f"{spec.task}, got {arrays.y.dtype}")
    weights = None
    if training and spec.task == "classification":  # per-example class weights, added
        weights = tf.constant(  # where the labels are first batched
            class_weights(data.imbalance.class_weight, arrays.y, spec.num_classes)
        )

    def weighted(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, ...]:
        if not training:
            return x, y
        # a regression target weighs 1 (class weights are for classification only)
        return x, y, tf.ones_like(y) if weights is None else tf.gather(weights, y)

    if resampled:
        ds = resampled_train(data.imbalance.resample, arrays.x, arrays.y, spec, seed)
    elif streamed:
        ds = _records(data.path, split, len(arrays.y),
                      input_context if policy == "FILE" else None)
    elif padded:
        ds = padded_split(arrays.x, arrays.y, global_batch)
    else:
        ds = tf.data.Dataset.from_tensor_slices((arrays.x, arrays.y))
    examples = int(ds.cardinality())
    if training and input_context is None and replicas > 1 and examples > 0:
        # Repeat the pass's first examples up to whole global batches (fit's path).
        ds = ds.repeat().take(whole_batches(examples, global_batch))
    if policy == "DATA":
        ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    parallel = _autotune(data.num_parallel_calls)
    ordered = training and not resampled  # the order is a function of (seed, epoch)
    examples = int(ds.cardinality())  # after the top-up and the shard
    ds = ds.batch(order.block_size(data.shuffle_buffer, batch) if ordered else batch)
    # One vectorized map per batch or block: parse (TFRecords) and weights together (every
    # map adds milliseconds to each epoch's iterator creation).
    if streamed:
        ds = ds.map(lambda records: weighted(*tfrecord_io.parse_batch(records, spec.input_shape)),
                    num_parallel_calls=parallel)
        # Cached parsed: later epochs neither decompress nor parse. In-memory arrays are
        # not cached again (that would double their memory).
        ds = _cache(ds, data, split, input_context)
    elif training:
        ds = ds.map(weighted, num_parallel_calls=parallel)
    if ordered:
        ds = order.shuffled_batches(ds, seed, batch, examples if examples >= 0 else None)
    if augment is not None:
        # The layers draw from a stateful seed generator: parallel calls would take the
        # random numbers in a timing-dependent order, so a deterministic pipeline augments
        # batches in order (same seed -> same augmented batches, from memory or TFRecords).
        ds = ds.map(
            lambda x, y, w: (augment(x), y, w),
            num_parallel_calls=None if data.deterministic else parallel,
        )
    if data.prefetch:
        ds = ds.prefetch(_autotune(data.prefetch))
    options = tf.data.Options()
    options.deterministic = data.deterministic
    return ds.with_options(options)
