"""The multi-worker training loop: Keras callbacks and metrics around ``strategy.run``.

Keras 3's ``model.fit`` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585),
so multi-worker runs train here instead, with the same compiled Keras model, optimizer,
loss and metrics and the same callback list ``fit`` would get (backup and restore,
checkpoints, early stopping, TensorBoard, CSV log, the blow-up guard):

- input: ``strategy.distribute_datasets_from_function`` over the caller's
  ``read(split, input_context=...)`` (data.build_dataset of the run's splits at its global
  batch), which shards the data per worker and batches per replica
  (``input_context.get_per_replica_batch_size``). The train stream repeats, so every
  worker has a full batch at every step (a worker that ran out would feed
  BatchNormalization an empty batch, whose statistics are NaN); an epoch is the same
  number of steps ``fit`` would take.
- step: a GradientTape step run on every replica. The loss is the per-example loss summed
  over the replica's examples and divided by the examples of all replicas together
  (all-reduced), plus the regularization losses divided by the replicas; the optimizer
  all-reduces (sums) the gradients, so the update is that of one global batch. Loss
  scaling (mixed_float16) is the optimizer's own. Gradient accumulation and XLA are
  refused before training starts (runtime.unsupported: they fail under this strategy).
- logs: Keras' metric variables aggregate across replicas when read, so every worker sees
  the same global loss and accuracy and the callbacks take the same decisions.
- padding: on several replicas val/test batches are full, padded with zero-weight
  examples (data/pipeline.py); the test step drops those rows after the forward pass,
  so the loss and metrics count exactly the split's examples.
- state: each replica updates BatchNormalization's moving statistics from its own batches;
  at the end of every epoch they are averaged across replicas (exact for the moving mean,
  an exponential average being linear), so validation and the saved model are the same
  on every worker.

The loop also runs under any other strategy (one device, MirroredStrategy); a test checks
that it matches ``fit`` on one device.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from bigmodel_tf.compat import initial_epoch, set_initial_epoch

# read(split, input_context=...): one input pipeline's batches of a split.
Read = Callable[..., tf.data.Dataset]
SUM, MEAN = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN


def _unpack(batch) -> tuple:
    """(x, y, sample_weight or None) from a pipeline element."""
    return batch if len(batch) == 3 else (*batch, None)


def _loss_tracker(model: keras.Model) -> keras.metrics.Metric:
    """The compiled model's ``loss`` metric (a Mean over examples), as fit reports it."""
    return next(m for m in model.metrics if m.name == "loss")


def _replica_loss(model: keras.Model, x, y, y_pred, sample_weight):
    """This replica's share of the global mean loss; updates the loss and compiled metrics."""
    context = tf.distribute.get_replica_context()
    per_example = tf.cast(model.loss.call(y, y_pred), tf.float32)
    if sample_weight is not None:
        per_example *= tf.cast(sample_weight, tf.float32)
    count = tf.cast(tf.shape(y)[0], tf.float32)
    total = tf.reduce_sum(per_example)
    regularization = tf.add_n([tf.cast(r, tf.float32) for r in model.losses]) if (
        model.losses) else tf.constant(0.0)
    global_count = context.all_reduce(SUM, count)
    # Mean over the examples of every replica; summed over replicas by the optimizer.
    loss = total / global_count + regularization / context.num_replicas_in_sync
    _loss_tracker(model).update_state(
        tf.math.divide_no_nan(total, count) + regularization, sample_weight=count
    )
    model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
    return loss


def make_train_step(model: keras.Model, strategy: tf.distribute.Strategy):
    """A tf.function running one distributed training step from an iterator."""

    def replica_step(batch):
        x, y, sample_weight = _unpack(batch)
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = _replica_loss(model, x, y, y_pred, sample_weight)
            scaled = model.optimizer.scale_loss(loss)
        variables = model.trainable_variables
        gradients = tape.gradient(scaled, variables)
        model.optimizer.apply_gradients(zip(gradients, variables, strict=True))

    @tf.function
    def train_step(iterator):
        strategy.run(replica_step, args=(next(iterator),))
        return model.get_metrics_result()

    return train_step


def make_test_step(model: keras.Model, strategy: tf.distribute.Strategy):
    """A tf.function running one distributed evaluation step on a batch."""

    def replica_step(batch):
        x, y, sample_weight = _unpack(batch)
        y_pred = model(x, training=False)
        if sample_weight is not None:  # val/test: drop the zero-weight padding rows
            real = sample_weight > 0
            x, y, y_pred = (tf.boolean_mask(t, real) for t in (x, y, y_pred))
            sample_weight = None
        _replica_loss(model, x, y, y_pred, sample_weight)

    @tf.function(reduce_retracing=True)
    def test_step(batch):
        strategy.run(replica_step, args=(batch,))

    return test_step


def make_sync_step(model: keras.Model, strategy: tf.distribute.Strategy):
    """A tf.function averaging the float non-trainable variables across replicas."""
    variables = [v for v in model.non_trainable_variables
                 if keras.backend.is_float_dtype(v.dtype)]

    def replica_step():
        context = tf.distribute.get_replica_context()
        means = context.all_reduce(MEAN, [tf.identity(v.value) for v in variables])
        for variable, mean in zip(variables, means, strict=True):
            variable.assign(mean)

    @tf.function
    def sync_step():
        if variables:
            strategy.run(replica_step)

    return sync_step


def _floats(logs: dict) -> dict:
    """Metric results as Python floats (what callbacks and CSV logs expect)."""
    return {name: float(value) for name, value in logs.items()}


def _evaluate(model, test_step, dataset, callbacks=None) -> dict:
    """One pass over a distributed dataset; the ``val_`` logs, as fit's validation gives.

    ``callbacks`` (a CallbackList) get the test hooks, as in fit's own validation.
    """
    callbacks = callbacks or keras.callbacks.CallbackList()
    model.reset_metrics()
    callbacks.on_test_begin()
    for step, batch in enumerate(dataset):
        callbacks.on_test_batch_begin(step)
        test_step(batch)
        callbacks.on_test_batch_end(step)
    logs = _floats(model.get_metrics_result())
    callbacks.on_test_end(logs)
    return {f"val_{name}": value for name, value in logs.items()}


class ReplicaValidation(keras.callbacks.Callback):
    """Validation at each epoch end with this loop's test step, for fit on several replicas.

    Keras' own validation would count the zero-weight padding of the val batches (its
    loss is weighed by the padded batch size, its compiled metrics ignore sample
    weights); this step drops the padding, so the ``val_`` logs it adds are those of one
    device on the same split. Place it before every callback that reads them. As in the
    loop, the replicas' BatchNormalization statistics are averaged first (each replica
    would otherwise validate with its own).
    """

    def __init__(self, strategy: tf.distribute.Strategy, read: Read):
        super().__init__()
        self._strategy = strategy
        with strategy.scope():
            self.data = distributed_dataset(strategy, read, "val", repeat=False)
        self._steps = None

    def on_epoch_end(self, epoch, logs=None):
        """Add the epoch's ``val_`` metrics to ``logs``."""
        if self._steps is None:
            self._steps = (make_sync_step(self.model, self._strategy),
                           make_test_step(self.model, self._strategy))
        sync_step, test_step = self._steps
        sync_step()
        logs.update(_evaluate(self.model, test_step, self.data))


def distributed_dataset(strategy: tf.distribute.Strategy, read: Read, split: str,
                        repeat: bool):
    """``read(split, input_context=...)`` per input pipeline, distributed by the strategy."""

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        dataset = read(split, input_context=input_context)
        return dataset.repeat() if repeat else dataset

    return strategy.distribute_datasets_from_function(dataset_fn)


def fit_distributed(
    strategy: tf.distribute.Strategy, model: keras.Model, read: Read, steps_per_epoch: int,
    epochs: int, callbacks: list, verbose: int,
) -> keras.callbacks.History:
    """Train ``model`` (built and compiled in ``strategy.scope()``) as fit would, for
    ``epochs`` epochs on ``read``'s train split, validating on its val split."""
    with strategy.scope():
        train_data = distributed_dataset(strategy, read, "train", repeat=True)
        val_data = distributed_dataset(strategy, read, "val", repeat=False)
    train_step, test_step = make_train_step(model, strategy), make_test_step(model, strategy)
    sync_step = make_sync_step(model, strategy)
    callback_list = keras.callbacks.CallbackList(
        callbacks, add_history=True, add_progbar=verbose != 0, model=model,
        verbose=verbose, epochs=epochs, steps=steps_per_epoch,
    )
    model.stop_training = False
    set_initial_epoch(model, None)  # BackupAndRestore sets it when it restores, fit reads it
    callback_list.on_train_begin()
    iterator = None
    logs: dict = {}
    for epoch in range(initial_epoch(model), epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        # Created once the first epoch's callbacks ran: the data order follows the epoch.
        iterator = iterator or iter(train_data)
        for step in range(steps_per_epoch):
            callback_list.on_train_batch_begin(step)
            logs = _floats(train_step(iterator))
            callback_list.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        sync_step()
        logs = {**_floats(model.get_metrics_result()),
                **_evaluate(model, test_step, val_data, callback_list)}
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    if epochs > 0:  # as fit: the EMA weights (train.ema) into the model
        model.optimizer.finalize_variable_values(model.trainable_variables)
    callback_list.on_train_end(logs)
    return next(c for c in callback_list.callbacks if isinstance(c, keras.callbacks.History))


def local_copy(model: keras.Model) -> keras.Model:
    """The trained model reloaded outside the strategy, with its weights and optimizer state.

    Evaluation, saving and export then run on one device, as after ``fit`` (Keras' predict
    under MultiWorkerMirroredStrategy would shard the data across the workers). The copy
    goes through the .keras format, which maps every optimizer variable by name.
    """
    with tempfile.TemporaryDirectory(prefix="bigmodel-copy-") as folder:
        path = Path(folder) / "model.keras"
        model.save(str(path))
        return keras.models.load_model(str(path), safe_mode=True)
