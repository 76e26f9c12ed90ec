"""The order of the train examples as a function of (seed, epoch), so that resuming is exact.

``tf.data``'s ``shuffle(seed, reshuffle_each_iteration=True)`` draws each pass's order from
the number of passes made by *this* dataset object, so a run resumed from its epoch-k
backup in a new process would see epoch 0's order again in epoch k. Here every train
dataset carries its own ``pass`` counter (a tf.Variable): each pass reads it (and counts
it up by one) and shuffles with ``stateless_shuffle`` keyed by (seed, pass, block). The
``DataEpoch`` callback sets every counter to the epoch a fit starts at (0, or the epoch a
resume starts from); later passes count themselves, also when Keras keeps one iterator
over the repeated dataset and prefetches into the next pass before the epoch begins
(training/trainer.py ``fit_inputs``). So epoch k sees the same batches in an uninterrupted
run and in a resumed one; a consumer without the callback still gets a new order on
every pass.

The input is a dataset of *blocks* (``data.shuffle_buffer`` examples rounded up to whole
batches; a full permutation when the split fits in one block), already parsed; each block
is permuted with one ``gather`` and cut into batches by ``rebatch`` (slices), so no
per-example work is left in the epoch loop (an unbatch and rebatch of single examples
cost two thirds of the throughput). This works alike for in-memory arrays and streamed
TFRecords.
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


def block_size(shuffle_buffer: int, batch: int) -> int:
    """Examples per shuffle block: ``shuffle_buffer`` rounded up to whole batches, so only
    the last block of a pass can end in a short batch (as an unshuffled pass does)."""
    return -(-shuffle_buffer // batch) * batch


def shuffled_batches(blocks: tf.data.Dataset, seed: int, batch: int,
                     examples: int | None) -> tf.data.Dataset:
    """Batches of ``blocks``, each block permuted by (seed, pass, block index).

    ``examples`` (the pass's example count, if known) gives the result its cardinality,
    which Keras needs for steps per epoch.
    """
    counter = _plain_counter()
    _COUNTERS[id(counter)] = counter

    def permute(index: tf.Tensor, block):
        # The first block of a pass counts the counter up; every block reads the pass number.
        # (Arithmetic, not tf.cond: a cond re-instantiated its branches with every iterator,
        # a cost paid every epoch.)
        epoch = counter.assign_add(tf.cast(tf.equal(index, 0), tf.int64)) - 1
        size = tf.shape(tf.nest.flatten(block)[0])[0]
        key = tf.stack([tf.constant(seed, tf.int64), epoch * _BLOCKS_PER_PASS + index])
        order = tf.random.experimental.stateless_shuffle(tf.range(size), seed=key)
        return tf.nest.map_structure(lambda t: tf.gather(t, order), block)

    # A sequential map (blocks in order) and no nested dataset per pass: a flat_map over
    # passes re-instantiated its inner functions every epoch.
    shuffled = blocks.enumerate().map(permute).rebatch(batch)
    if examples is not None:  # rebatch hides the cardinality
        shuffled = shuffled.apply(tf.data.experimental.assert_cardinality(-(-examples // batch)))
    return shuffled


class DataEpoch(keras.callbacks.Callback):
    """Tells the train datasets the epoch a fit starts at, before Keras creates its iterator.

    Only at the fit's first epoch: the passes after it count themselves, and setting the
    counter again would undo a pass the prefetch has already begun.
    """

    def __init__(self):
        super().__init__()
        self._first = True

    def on_train_begin(self, logs=None):
        """A new fit: its first epoch sets the counters."""
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        """Key the fit's first pass to this epoch (the first epoch, or a resume's)."""
        if self._first:
            set_epoch(epoch)
            self._first = False
