"""TensorBoard during training: Keras' callback writing the same logs with fewer ops.

Keras' TensorBoard callback writes ``tensorboard/train`` and ``tensorboard/validation``
(per-epoch loss/accuracy scalars: the learning curves, the learning rate, weight
histograms, the Keras layer graph and, with ``evaluation.profile_batches``, a profiler
trace). ``RunTensorBoard`` writes the same tags and values; the evaluation stage adds its
own run, ``tensorboard/evaluation`` (evaluation/tensorboard_logging.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.scalar.summary_v2 import scalar_pb
from tensorboard.util import tensor_util


def profile_batch(batches: Sequence[int]) -> tuple[int, int] | int:
    """Keras TensorBoard's ``profile_batch`` from ``evaluation.profile_batches`` (0 = off)."""
    return (batches[0], batches[1]) if batches else 0


def histogram_summary(tag: str, values: np.ndarray, buckets: int = 30) -> bytes:
    """A serialized TensorBoard histogram summary of ``values``, as the histogram plugin
    writes it (``buckets`` equal-width [left, right, count] rows from min to max).

    TensorBoard's own ``histogram_pb`` counts through a values x buckets one-hot matrix;
    ``bincount`` gives the same counts without it.
    """
    data = np.asarray(values, dtype=np.float64).ravel()
    low, high = (data.min(), data.max()) if data.size else (0.0, 0.0)
    if high > low:
        index = np.minimum(((data - low) / ((high - low) / buckets)).astype(np.int64),
                           buckets - 1)
        counts = np.bincount(index, minlength=buckets)
        edges = np.linspace(low, high, buckets + 1)
        rows = np.stack([edges[:-1], edges[1:], counts], axis=1)
    else:  # constant (or empty): every edge at the value, all counts in the last bucket
        counts = np.zeros(buckets)
        counts[-1] = data.size
        rows = np.stack([np.full(buckets, low), np.full(buckets, low), counts], axis=1)
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, metadata=histogram_metadata.create_summary_metadata(None, None),
                      tensor=tensor_util.make_tensor_proto(rows, dtype=np.float64))
    return summary.SerializeToString()


def _write_all(writer, summaries: list[bytes], step) -> None:
    """Write serialized summaries at ``step`` with one op (not one eager op chain each)."""
    if summaries:
        with writer.as_default():
            tf.summary.experimental.write_raw_pb(tf.constant(summaries), step=step)


def _scalars(values: dict, prefix: str = "", suffix: str = "") -> list[bytes]:
    """Serialized scalar summaries tagged ``prefix + name + suffix``."""
    return [scalar_pb(f"{prefix}{name}{suffix}", float(value)).SerializeToString()
            for name, value in values.items()]


class RunTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback writing the same tags and values with fewer ops.

    Keras writes every scalar and histogram eagerly, op chain by op chain (a large share
    of a short epoch, e.g. one of digits); this
    subclass builds the summaries on the host (histogram buckets in NumPy) and writes
    each group with one op. What and when it logs are Keras'.
    """

    def on_train_batch_end(self, batch, logs=None):
        """Keras' hook (graph, profiler), minus its per-batch scalars when logging per epoch:
        with ``update_freq="epoch"`` no writer is set for them, so Keras computed them for
        nothing, batch after batch."""
        super().on_train_batch_end(batch, logs if self.update_freq != "epoch" else None)

    def _log_epoch_metrics(self, epoch, logs):
        """The epoch's train and validation scalars (``epoch_<metric>``, lr included)."""
        if not logs:
            return
        train = self._collect_learning_rate(
            {k: v for k, v in logs.items() if not k.startswith("val_")})
        val = {k[len("val_"):]: v for k, v in logs.items() if k.startswith("val_")}
        _write_all(self._train_writer, _scalars(train, "epoch_"), epoch)
        _write_all(self._val_writer, _scalars(val, "epoch_"), epoch)

    def on_test_end(self, logs=None):
        """Validation scalars against the optimizer's step, as Keras logs them."""
        if logs and self.model.optimizer is not None:
            step = keras.ops.convert_to_numpy(self.model.optimizer.iterations)
            _write_all(self._val_writer, _scalars(logs, "evaluation_", "_vs_iterations"),
                       int(step))
        self._pop_writer()

    def _log_weights(self, epoch):
        """Every layer weight's histogram at ``epoch`` (tags as Keras names them)."""
        _write_all(self._train_writer, [
            histogram_summary(f"{w.path.replace(':', '_')}/histogram",
                              keras.ops.convert_to_numpy(w))
            for layer in self.model.layers for w in layer.weights
        ], epoch)
        self._train_writer.flush()
