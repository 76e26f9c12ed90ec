"""The order of the train examples as a function of (seed, epoch), so that resuming is exact.

``tf.data``'s ``shuffle(seed, reshuffle_each_iteration=True)`` draws each pass's order from
the number of passes made by *this* dataset object, so a run resumed from its epoch-k
backup in a new process would see epoch 0's order again in epoch k. Here every train
dataset carries its own ``pass`` counter (a tf.Variable): each pass reads it (and counts
it up by one) and shuffles with ``stateless_shuffle`` keyed by (seed, pass, block). The
``DataEpoch`` callback sets every counter to the epoch Keras is starting, so epoch k sees
the same batches in an uninterrupted run and in a resumed one; a consumer without the
callback still gets a new order on every pass.

Examples are shuffled within consecutive blocks of ``data.shuffle_buffer`` (a full
permutation when the split fits in one block), which also works for streamed TFRecords.
"""

from __future__ import annotations

import threading
import weakref

import keras
import tensorflow as tf

# Live pass counters of train datasets (a dataset keeps its counter alive while it lives).
_COUNTERS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_BLOCKS_PER_PASS = 1 << 32  # distinct stateless keys per pass; more blocks than any split


def _plain_counter() -> tf.Variable:
    """A new int64 counter that is a plain variable even inside a distribution strategy.

    A strategy's scope is thread-local, so a variable made on a helper thread is not
    mirrored (a mirrored variable inside a per-worker input function needs collectives).
    """
    made: list[tf.Variable] = []
    thread = threading.Thread(
        target=lambda: made.append(tf.Variable(0, dtype=tf.int64, trainable=False))
    )
    thread.start()
    thread.join()
    return made[0]


def set_epoch(epoch: int) -> None:
    """Make the next pass of every live train dataset the given (0-based) epoch."""
    for counter in list(_COUNTERS.values()):
        counter.assign(epoch)


def shuffle_by_epoch(ds: tf.data.Dataset, seed: int, block: int) -> tf.data.Dataset:
    """``ds`` shuffled within blocks of ``block`` elements, by (seed, pass, block index)."""
    counter = _plain_counter()
    _COUNTERS[id(counter)] = counter
    cardinality = int(ds.cardinality())

    def one_pass(epoch: tf.Tensor) -> tf.data.Dataset:
        def permute(index: tf.Tensor, elements):
            size = tf.shape(tf.nest.flatten(elements)[0])[0]
            key = tf.stack([tf.constant(seed, tf.int64), epoch * _BLOCKS_PER_PASS + index])
            order = tf.random.experimental.stateless_shuffle(tf.range(size), seed=key)
            return tf.nest.map_structure(lambda t: tf.gather(t, order), elements)

        return ds.batch(block).enumerate().map(permute).unbatch()

    passes = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).map(
        lambda _: counter.assign_add(1) - 1
    )
    shuffled = passes.flat_map(one_pass)
    if cardinality >= 0:  # flat_map hides it; Keras needs it for steps per epoch
        shuffled = shuffled.apply(tf.data.experimental.assert_cardinality(cardinality))
    return shuffled


class DataEpoch(keras.callbacks.Callback):
    """Tells the train datasets which epoch starts, before Keras creates its iterator."""

    def on_epoch_begin(self, epoch, logs=None):
        """Key the coming pass's order to this epoch (also the first epoch of a resume)."""
        set_epoch(epoch)
