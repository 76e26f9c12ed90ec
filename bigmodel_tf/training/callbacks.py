"""Training callbacks: Keras' own, ordered, plus three small ones Keras lacks.

Keras supplies EarlyStopping, ModelCheckpoint (as BestCheckpoint, which writes best.keras
on a writer thread: checkpoint_io.py), CSVLogger, TensorBoard (as RunTensorBoard, with
cheaper weight histograms: tensorboard.py) and ReduceLROnPlateau; the
run backup (backup.py) replaces its BackupAndRestore so that a
resume is exact, with DataEpoch (data/order.py) and StopOnPreemption (preemption.py)
beside it. Added here: the learning rate in the epoch logs (so CSVLogger and
TensorBoard record it), the loss blow-up guard (blowup.py: rollback, or a typed error where
Keras' TerminateOnNaN would stop "gracefully" and BackupAndRestore delete its backup), and
a throughput meter. Order matters: the guard rolls back before the backup is written,
the EMA weights (ema.py) are in the model from validation to just before the backup, and
the learning-rate logger runs before the loggers that read ``logs``. A non-chief worker of
a multi-worker run restores from the chief's backup and never writes it (workers.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import keras

from bigmodel_tf.config import TrainConfig
from bigmodel_tf.data.order import DataEpoch
from bigmodel_tf.training.backup import RunBackup
from bigmodel_tf.training.blowup import BlowupGuard
from bigmodel_tf.training.checkpoint_io import BackgroundWriter, BestCheckpoint
from bigmodel_tf.training.ema import EmaWeights
from bigmodel_tf.training.optim import current_learning_rate
from bigmodel_tf.training.preemption import StopOnPreemption
from bigmodel_tf.training.tensorboard import RunTensorBoard, profile_batch
from bigmodel_tf.training.workers import chief_run_dir


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's current ``learning_rate`` to each epoch's logs."""

    def on_epoch_end(self, epoch, logs=None):
        """Record the rate in effect at the end of the epoch."""
        if logs is not None and "learning_rate" not in logs:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)


class RestoreOnlyBackup(RunBackup):
    """RunBackup that restores from the chief's backup and never writes it.

    Non-chief workers use it: only the chief writes the backup, so every worker resumes
    from the same epoch (a per-worker backup could be one epoch apart after a crash).
    """

    def on_epoch_end(self, epoch, logs=None):
        """The chief saves the backup; this worker does not."""


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


def build_callbacks(t: TrainConfig, run_dir: Path, examples_per_epoch: int,
                    validation: keras.callbacks.Callback | None = None,
                    profile_batches: Sequence[int] = (),
                    loggers: Sequence[keras.callbacks.Callback] = ()) -> list:
    """The callback list of the train section, in the order Keras must run them.

    ``validation`` (custom_loop.ReplicaValidation, for fit on several replicas) adds the
    ``val_`` logs at the epoch end, after the EMA weights are in the model;
    ``profile_batches`` (evaluation.profile_batches) are profiled into TensorBoard;
    ``loggers`` (the experiment tracker's) read each epoch's logs beside the CSV log.
    """
    ckpt = run_dir / "checkpoints"
    chief_backup = chief_run_dir(run_dir) / "checkpoints" / "backup"
    writer = BackgroundWriter()  # one thread: best.keras lands before its epoch's snapshot
    backup = (
        RunBackup(ckpt / "backup", history_csv=run_dir / "history.csv", writer=writer)
        if chief_backup == ckpt / "backup" else RestoreOnlyBackup(chief_backup)
    )
    ema = EmaWeights() if t.ema else None
    callbacks = [
        ThroughputMeter(examples_per_epoch),
        BlowupGuard(t.blowup_factor, t.max_rollbacks, t.rollback_lr_factor),
        *(c for c in (ema, validation) if c is not None),
    ]
    if t.reduce_on_plateau:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=t.monitor, factor=t.plateau_factor, patience=t.plateau_patience
        ))
    callbacks += [
        LearningRateLogger(),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        RunTensorBoard(
            log_dir=str(run_dir / "tensorboard"), histogram_freq=t.histogram_freq,
            write_graph=True, profile_batch=profile_batch(profile_batches),
        ),
        *loggers,
    ]
    if t.early_stopping_patience > 0:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=t.monitor, patience=t.early_stopping_patience, restore_best_weights=True
        ))
    # The writers last: the epoch-end work of the others runs before their writer threads
    # compete with it. The backup saves what the others decided this epoch and restores
    # them after their own on_train_begin (backup.py); DataEpoch keys the data order to
    # the epoch; StopOnPreemption turns SIGTERM into a stop at a batch boundary.
    callbacks.append(BestCheckpoint(ckpt / "best.keras", monitor=t.monitor, writer=writer))
    if ema is not None:  # the backup snapshots the training weights, not the averages
        callbacks.append(ema.release())
    backup.peers = list(callbacks)
    return [*callbacks, backup, DataEpoch(), StopOnPreemption()]
