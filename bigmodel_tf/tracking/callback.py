"""The Keras callback that sends each epoch's logs to the tracker.

MLflow's own ``mlflow.keras.MlflowCallback`` logs to the ambient active run, logs the
validation metrics of every ``on_test_end`` without a step and sends asynchronously, so a
failing store would go unnoticed; this callback logs through the run's ``Tracker``, with
the epoch as the step, and lets the tracker decide what to do when the store fails. It is
one of the training callbacks, so ``fit`` and the multi-worker loop both drive it.
"""

from __future__ import annotations

import keras


class TrackingCallback(keras.callbacks.Callback):
    """Logs every epoch's logs (loss, metrics, ``val_`` metrics, learning rate)."""

    def __init__(self, tracker):
        super().__init__()
        self.tracker = tracker

    def on_train_begin(self, logs=None):
        """The run directory exists now: record the tracker run in it."""
        self.tracker.write_record()

    def on_epoch_end(self, epoch, logs=None):
        """Log the epoch's numbers with step = epoch (0-based, as in history.csv)."""
        self.tracker.log_epoch(epoch, logs or {})
