"""Training callbacks: Keras' own, ordered, plus three small ones Keras lacks.

Keras supplies EarlyStopping, ModelCheckpoint, BackupAndRestore, CSVLogger, TensorBoard
and ReduceLROnPlateau. Added here: the learning rate in the epoch logs (so CSVLogger and
TensorBoard record it), a NaN guard that raises a typed error (Keras' TerminateOnNaN stops
"gracefully", after which BackupAndRestore deletes its backup), and a throughput meter.
Order matters: the learning-rate logger runs before the loggers that read ``logs``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras

from bigmodel_tf.errors import TrainingDivergedError
from bigmodel_tf.training.optim import current_learning_rate


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's current ``learning_rate`` to each epoch's logs."""

    def on_epoch_end(self, epoch, logs=None):
        """Record the rate in effect at the end of the epoch."""
        if logs is not None and "learning_rate" not in logs:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)


class StopOnNaN(keras.callbacks.Callback):
    """Raises TrainingDivergedError on a NaN or infinite loss, keeping the backup intact."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        """Remember the epoch for the error message."""
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        """Check the running loss after every batch."""
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDivergedError(
                f"training diverged: the loss became {float(loss)} in epoch {self.epoch + 1}, "
                f"batch {batch + 1}; lower train.learning_rate or set train.global_clipnorm"
            )


class ThroughputMeter(keras.callbacks.Callback):
    """Measures training examples per second, leaving out the first (tracing) epoch."""

    def __init__(self, examples_per_epoch: int):
        super().__init__()
        self.examples_per_epoch = examples_per_epoch
        self.epoch_seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        """Start the epoch's clock."""
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        """Stop the clock (before validation-heavy callbacks that follow run)."""
        self.epoch_seconds.append(time.perf_counter() - self._start)

    @property
    def examples_per_sec(self) -> float:
        """Mean training throughput over the measured epochs (examples/s)."""
        measured = self.epoch_seconds[1:] or self.epoch_seconds
        if not measured:
            return 0.0
        return self.examples_per_epoch * len(measured) / sum(measured)


def build_callbacks(cfg, run_dir: Path, examples_per_epoch: int) -> list:
    """The configured callback list, in the order Keras must run them."""
    t = cfg.train
    ckpt = run_dir / "checkpoints"
    callbacks = [
        ThroughputMeter(examples_per_epoch),
        StopOnNaN(),
        LearningRateLogger(),
        keras.callbacks.BackupAndRestore(str(ckpt / "backup"), double_checkpoint=True),
        keras.callbacks.ModelCheckpoint(
            str(ckpt / "best.keras"), monitor=t.monitor, save_best_only=True
        ),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        keras.callbacks.TensorBoard(
            log_dir=str(run_dir / "tensorboard"), histogram_freq=t.histogram_freq,
            write_graph=True,
        ),
    ]
    if t.reduce_on_plateau:
        callbacks.insert(2, keras.callbacks.ReduceLROnPlateau(
            monitor=t.monitor, factor=t.plateau_factor, patience=t.plateau_patience
        ))
    if t.early_stopping_patience > 0:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=t.monitor, patience=t.early_stopping_patience, restore_best_weights=True
        ))
    return callbacks
