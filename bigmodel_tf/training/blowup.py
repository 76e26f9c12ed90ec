"""Loss blow-up guard: roll back to the last good epoch with a lower learning rate.

A callback (it runs under ``fit`` and the multi-worker loop alike). It watches every
batch: a NaN or infinite loss, or — with ``train.blowup_factor`` set — a batch loss above
that factor times the moving average of the recent batch losses, is a blow-up. (Keras
logs the running mean of the epoch; the batch's own loss is recovered from two
consecutive means.) At the end of every epoch without one it keeps a snapshot of the
model's weights and the optimizer's state (slots, step count, learning rate) in host
memory. A blow-up restores that snapshot, multiplies the learning rate by
``train.rollback_lr_factor`` and resets the running metrics; training goes on from
there. After ``train.max_rollbacks`` rollbacks the next blow-up stops training with a
TrainingDivergedError (exit status 2, the backup kept). With ``max_rollbacks=0`` (the
default) the guard stops at the first blow-up and keeps no snapshot, like Keras'
TerminateOnNaN but with a message and without losing the backup. A rollback needs a
constant learning rate (config/checks.py refuses it with a schedule).
"""

from __future__ import annotations

import logging
import math

import keras
import numpy as np

from bigmodel_tf.errors import TrainingDivergedError
from bigmodel_tf.training.checkpoint_io import VariableReader
from bigmodel_tf.training.optim import current_learning_rate

log = logging.getLogger("bigmodel_tf.training")

AVERAGE_MOMENTUM = 0.9  # moving average of batch losses: about the last 10 batches


def _state_variables(model: keras.Model) -> list:
    """Every variable a rollback restores: the model's and the optimizer's."""
    return [*model.weights, *model.optimizer.variables]


def set_learning_rate(optimizer: keras.optimizers.Optimizer, rate: float) -> None:
    """Set a constant learning rate (of the inner optimizer under loss scaling)."""
    getattr(optimizer, "inner_optimizer", optimizer).learning_rate = rate


class BlowupGuard(keras.callbacks.Callback):
    """Rolls back on NaN/inf or a loss spike, at most ``max_rollbacks`` times, then stops."""

    def __init__(self, factor: float | None, max_rollbacks: int, lr_factor: float):
        super().__init__()
        self.factor, self.max_rollbacks, self.lr_factor = factor, max_rollbacks, lr_factor
        self.rollbacks = 0
        self.average_loss: float | None = None  # moving average of recent batch losses
        self._snapshot: list[np.ndarray] | None = None
        self._reader: VariableReader | None = None  # one compiled read of the state
        self._epoch = 0
        self._batches = 0  # batches in Keras' running mean since the epoch or a rollback
        self._running = 0.0  # that running mean after the previous batch

    def _take_snapshot(self) -> None:
        """Remember the current weights and optimizer state as the last good ones.

        Only when a rollback is allowed: a copy of a large model costs host memory and a
        pass over every weight each epoch.
        """
        if not self.max_rollbacks:
            return
        optimizer = self.model.optimizer
        if not optimizer.built:  # its slots appear with the first step otherwise
            with self.model.distribute_strategy.scope():
                optimizer.build(self.model.trainable_variables)
        if self._reader is None:
            self._reader = VariableReader(_state_variables(self.model))
        self._snapshot = self._reader.read()

    def _recover(self, what: str) -> None:
        """Restore the last good state with a lower learning rate, or stop training."""
        if self.rollbacks >= self.max_rollbacks:
            after = f" after {self.rollbacks} rollback(s)" if self.rollbacks else ""
            raise TrainingDivergedError(
                f"training diverged: {what}{after}; lower train.learning_rate, set "
                "train.global_clipnorm or allow rollbacks with train.max_rollbacks"
            )
        # The snapshot holds the rate of its epoch; each rollback lowers the current one.
        rate = current_learning_rate(self.model.optimizer) * self.lr_factor
        for variable, value in zip(_state_variables(self.model), self._snapshot, strict=True):
            variable.assign(value)
        set_learning_rate(self.model.optimizer, rate)
        self.rollbacks += 1
        for metric in self.model.metrics:  # the running means hold the blown-up batches
            metric.reset_state()
        self._batches, self._running = 0, 0.0
        log.warning("%s: rolled back to the last good epoch, learning rate now %.3g "
                    "(rollback %d of %d)", what, rate, self.rollbacks, self.max_rollbacks)

    def on_epoch_begin(self, epoch, logs=None):
        """Take the first snapshot once the backup has restored a resumed run."""
        self._epoch, self._batches, self._running = epoch, 0, 0.0
        if self._snapshot is None:
            self._take_snapshot()

    def on_train_batch_end(self, batch, logs=None):
        """Check this batch's loss: NaN/inf at once, a spike against the recent average."""
        running = (logs or {}).get("loss")
        if running is None:
            return
        running = float(running)
        where = f"epoch {self._epoch + 1}, batch {batch + 1}"
        if not math.isfinite(running):
            self._recover(f"the loss became {running} in {where}")
            return
        loss = (self._batches + 1) * running - self._batches * self._running
        self._batches, self._running = self._batches + 1, running
        average = self.average_loss
        if self.factor is not None and average is not None and loss > self.factor * average:
            self._recover(f"the loss jumped to {loss:.4g} in {where}, more than "
                          f"{self.factor:g} x its recent average {average:.4g}")
            return
        self.average_loss = loss if average is None else (
            AVERAGE_MOMENTUM * average + (1 - AVERAGE_MOMENTUM) * loss)

    def on_epoch_end(self, epoch, logs=None):
        """Keep this epoch as the last good one (its batches passed the checks)."""
        logs = logs if logs is not None else {}
        loss = float(logs.get("loss", math.nan))
        if not math.isfinite(loss):
            self._recover(f"the loss of epoch {epoch + 1} is {loss}")
        else:
            self._take_snapshot()
        if self.max_rollbacks:
            logs["rollbacks"] = self.rollbacks
