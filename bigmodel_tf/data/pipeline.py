"""tf.data input pipelines: ``build_dataset(splits, split, data, seed, global_batch)``.

The pipeline takes what it is given: the split arrays and spec (``load_splits``' result),
the data section, the seed and the global batch the caller computed once; with a
``tf.distribute.InputContext`` (``distribute_datasets_from_function``), the per-replica
batch is ``input_context.get_per_replica_batch_size(global_batch)`` and the shard is the
context's input pipeline, as in Model Garden's ``InputReader``. Nothing here asks the
ambient strategy for its replicas.

Elements are batches: train yields ``(x, y, sample_weight)``, val and test ``(x, y)``,
with x raw float32 features (the model normalizes), y int32 class ids (float32 targets for
regression, spec.task) and sample_weight float32 (class weights, from the spec's train
class counts; 1 for regression). Order of the stages, following measurements
(docs/architecture.md: vectorize first, then add parallelism; no parallel interleave by
default on 2 cores):

    split.batches (blocks for train; FILE shard) -> cache (streamed splits) -> DATA shard
          -> class weights -> permute blocks into batches (train) -> augment -> prefetch

Every split reads itself (data/split.py): in-memory arrays are sliced, float TFRecords
batched first and parsed together (``parse_example``), PNG records and image files
decoded by a parallel map; streamed splits are cached decoded as ``data.cache`` says, so
later epochs neither read nor decode. Everything after the first batch works on whole
batches or blocks (order.py). val/test keep the split's stored order.

Several replicas (``replicas`` sharing fit's global batch, or an input context's
replicas) get only full batches, so none is ever empty or uneven: the train pass is
topped up to whole global batches by repeating its first examples (fit's path; the
multi-worker loop repeats its stream instead), and val/test are padded with zero-weight
examples to whole global batches before they are divided between workers, and yield
``(x, y, sample_weight)`` with weight 1 for every real example (the distributed test
step, custom_loop.py, drops the zero-weight rows before the loss and metrics).
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
from bigmodel_tf.data.split import Split
from bigmodel_tf.data.splits import Splits, source_modified
from bigmodel_tf.errors import ConfigError


def whole_batches(examples: int, global_batch: int) -> int:
    """``examples`` rounded up to whole global batches (at least one when there are any)."""
    return -(-examples // global_batch) * global_batch


def padded_batches(batches: tf.data.Dataset, examples: int, shape: list[int], label_dtype,
            global_batch: int) -> tf.data.Dataset:
    """(x, y, sample_weight) batches of ``global_batch`` examples, the last topped up with
    zero-weight examples (zeros of class 0); every real example has weight 1."""
    pad = whole_batches(examples, global_batch) - examples
    weighted = batches.map(lambda x, y: (x, y, tf.ones_like(y, tf.float32)))
    if pad:
        zeros = tf.data.Dataset.from_tensors((tf.zeros([pad, *shape]), tf.zeros([pad], label_dtype),
                                              tf.zeros([pad])))
        weighted = weighted.concatenate(zeros)
    return weighted.rebatch(global_batch)


def shard_policy(data: DataConfig, files: int, num_input_pipelines: int,
                 training: bool = True) -> str:
    """How a split is divided between input pipelines (workers): OFF, FILE or DATA.

    FILE (each worker reads only its own files: TFRecord shards or image files) when the
    train split is streamed from at least as many files as there are pipelines; DATA
    (every worker reads all examples and keeps every n-th) for in-memory data, resampled
    streams, too few files and val/test (padded first, so that every worker gets the same
    number of full batches). ``files``: how many files the split is streamed from (0: it
    is in memory).
    """
    if num_input_pipelines <= 1:
        return "OFF"
    if training and data.imbalance.resample == "none" and files >= num_input_pipelines > 0:
        return "FILE"
    return "DATA"


def _cache(
    ds: tf.data.Dataset, data: DataConfig, split: str,
    input_context: tf.distribute.InputContext | None,
) -> tf.data.Dataset:
    """Cache the parsed batches in memory or in a file under data.cache_dir (or not at all)."""
    if data.cache == "none":
        return ds
    if data.cache == "memory":
        return ds.cache()
    if not data.cache_dir:
        raise ConfigError("data.cache_dir: required when data.cache=file (a folder path)")
    tf.io.gfile.makedirs(data.cache_dir)
    # The file name changes with the source and the shard, so a stale cache is never read.
    source = f"{data.path}|{source_modified(data.path)}|{data.image_size}|{data.channels}"
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    shard = (
        f"-{input_context.input_pipeline_id}of{input_context.num_input_pipelines}"
        if input_context is not None else ""
    )
    return ds.cache(f"{data.cache_dir.rstrip('/')}/{split}-{digest}{shard}")


def with_run_cache(cfg: ExperimentConfig, run_dir: Path) -> ExperimentConfig:
    """``cfg`` with ``data.cache_dir`` at ``<run_dir>/cache`` when data.cache=file names none."""
    if cfg.data.cache == "file" and not cfg.data.cache_dir:
        return with_changes(cfg, {"data.cache_dir": str(Path(run_dir) / "cache")})
    return cfg


def _autotune(value: int) -> int | None:
    """Map the config's -1 to tf.data.AUTOTUNE and 0 to None (sequential / off)."""
    return tf.data.AUTOTUNE if value == -1 else (value or None)


def memory_cache_bytes(splits: Splits) -> int:
    """Bytes data.cache=memory would hold: the decoded float32 examples of the streamed
    splits (in-memory splits are not cached again)."""
    per_example = 4 * int(np.prod(splits.spec.input_shape))
    return sum(per_example * part.size for part in (splits.train, splits.val, splits.test)
               if not part.in_memory)


def _first_examples(source: Split, count: int) -> tf.data.Dataset:
    """One batch of the split's first ``count`` examples, repeated if it has fewer."""
    x, y = source.head(count)
    again = np.arange(count) % len(y)
    return tf.data.Dataset.from_tensors((x[again], y[again]))


def _train_weights(data: DataConfig, spec) -> tf.Tensor | None:
    """Per-class weights of the train split (classification), from its class counts."""
    if spec.task != "classification":
        return None
    counts = np.array([spec.class_counts[name] for name in spec.class_names], np.int64)
    return tf.constant(class_weights(data.imbalance.class_weight, counts))


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
    spec, source = splits.spec, getattr(splits, split)
    if input_context is not None:
        replicas = input_context.num_replicas_in_sync
        batch = input_context.get_per_replica_batch_size(global_batch)
    else:
        batch = global_batch
    training = split == "train"
    augment = augmenter(data, spec, seed) if training else None
    resampled = training and data.imbalance.resample != "none"
    padded = not training and replicas > 1
    pipelines = input_context.num_input_pipelines if input_context is not None else 1
    policy = shard_policy(data, len(source.files() or ()), pipelines, training)
    label_dtype = tf.float32 if spec.task == "regression" else tf.int32
    weights = _train_weights(data, spec) if training else None
    parallel = _autotune(data.num_parallel_calls)

    def weighted(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, ...]:
        if not training:
            return x, y
        # a regression target weighs 1 (class weights are for classification only)
        return x, y, tf.ones_like(y, tf.float32) if weights is None else tf.gather(weights, y)

    if padded:  # every worker the same number of full batches: pad, then shard examples
        ds = padded_batches(source.batches(batch, parallel), source.size, spec.input_shape,
                            label_dtype, global_batch)
        if pipelines > 1:
            ds = ds.unbatch().shard(pipelines, input_context.input_pipeline_id).batch(batch)
        return _finish(ds.rebatch(batch) if pipelines == 1 else ds, data)
    ordered = training and not resampled  # the order is a function of (seed, epoch)
    read_batch = order.block_size(data.shuffle_buffer, batch) if ordered else batch
    # fit's path with several replicas: the train pass is topped up to whole global batches
    topped_up = training and input_context is None and replicas > 1
    if resampled:  # resampling needs every example's class and features up front
        ds = resampled_train(data.imbalance.resample, *source.load(), spec, seed)
        examples = int(ds.cardinality())
        if topped_up and examples > 0:
            examples = whole_batches(examples, global_batch)
            ds = ds.repeat().take(examples)
        ds = ds.batch(read_batch)
    else:
        shard = (input_context.input_pipeline_id, pipelines) if policy == "FILE" else None
        ds = source.batches(read_batch, parallel, shard)
        # this worker's share of the files holds a number of examples not known up front
        examples = -1 if shard is not None else source.size
        if not source.in_memory:  # cached parsed: later epochs neither read
            ds = _cache(ds, data, split, input_context)  # nor decode
        if topped_up and examples > 0 and whole_batches(examples, global_batch) > examples:
            ds = ds.concatenate(_first_examples(
                source, whole_batches(examples, global_batch) - examples))
            examples = whole_batches(examples, global_batch)
    if policy == "DATA":
        ds = ds.unbatch().shard(pipelines, input_context.input_pipeline_id).batch(read_batch)
        examples = len(range(input_context.input_pipeline_id, examples, pipelines))
    if training:
        ds = ds.map(weighted, num_parallel_calls=parallel)
    if ordered:
        ds = order.shuffled_batches(ds, seed, batch, examples if examples >= 0 else None)
    elif resampled:
        ds = ds.rebatch(batch) if read_batch != batch else ds
    if augment is not None:
        # The layers draw from a stateful seed generator: parallel calls would take the
        # random numbers in a timing-dependent order, so a deterministic pipeline augments
        # batches in order (same seed -> same augmented batches, from memory or TFRecords).
        ds = ds.map(
            lambda x, y, w: (augment(x), y, w),
            num_parallel_calls=None if data.deterministic else parallel,
        )
    return _finish(ds, data)


def _finish(ds: tf.data.Dataset, data: DataConfig) -> tf.data.Dataset:
    """Prefetch (as data.prefetch says) and set the element order's determinism."""
    if data.prefetch:
        ds = ds.prefetch(_autotune(data.prefetch))
    options = tf.data.Options()
    options.deterministic = data.deterministic
    return ds.with_options(options)
