"""Timing helpers shared by the benchmark suites: epoch timers and best-of measurements.

The CPU of this machine is shared, so every figure is the best (minimum time) of
``benchmark.repeats`` measurements: background load only ever slows a run down, so the
fastest repeat is the closest to the machine's real capability. Ratios are taken between
measurements of the same run, alternating their order between repeats.
"""

from __future__ import annotations

import os
import statistics
import time

import keras
import tensorflow as tf

from bigmodel_tf.training.trainer import fit_inputs


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch (training, validation and the callbacks before it)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        """Start the epoch's clock."""
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        """Stop the clock after every callback listed before this one ran."""
        self.seconds.append(time.perf_counter() - self._start)


class TimedCallback(keras.callbacks.Callback):
    """Runs ``inner``'s hooks and adds up the seconds spent in them.

    ``epoch_seconds`` counts the hooks of the epochs after the fit's first (batch, epoch
    and validation hooks), the epochs ``fit_epoch_seconds`` times; ``run_seconds`` those
    that run once per fit (train begin and end) and the first epoch's, which also holds
    one-off work (tracing, the graph written to TensorBoard).
    """

    def __init__(self, inner: keras.callbacks.Callback):
        super().__init__()
        self.inner = inner
        self.epoch_seconds = 0.0
        self.run_seconds = 0.0
        self._epochs_begun = 0

    def set_model(self, model):
        """Give the model to the wrapped callback too."""
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        """Give the fit parameters to the wrapped callback too."""
        super().set_params(params)
        self.inner.set_params(params)

    def _run(self, hook: str, *args, per_run: bool = False) -> None:
        """Call ``inner.hook(*args)`` and add its duration to the right total."""
        start = time.perf_counter()
        getattr(self.inner, hook)(*args)
        elapsed = time.perf_counter() - start
        if per_run or self._epochs_begun < 2:
            self.run_seconds += elapsed
        else:
            self.epoch_seconds += elapsed

    def on_train_begin(self, logs=None):
        """Timed once per fit."""
        self._run("on_train_begin", logs, per_run=True)

    def on_train_end(self, logs=None):
        """Timed once per fit."""
        self._run("on_train_end", logs, per_run=True)

    def on_epoch_begin(self, epoch, logs=None):
        """Timed per epoch."""
        self._epochs_begun += 1
        self._run("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        """Timed per epoch."""
        self._run("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        """Timed per epoch."""
        self._run("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """Timed per epoch."""
        self._run("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs=None):
        """Timed per epoch (validation)."""
        self._run("on_test_begin", logs)

    def on_test_end(self, logs=None):
        """Timed per epoch (validation)."""
        self._run("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Timed per epoch (validation)."""
        self._run("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        """Timed per epoch (validation)."""
        self._run("on_test_batch_end", batch, logs)


def fit_epoch_seconds(model: keras.Model, data, epochs: int, callbacks=(),
                      validation_data=None) -> list:
    """Seconds of each epoch after the first (tracing and warm-up) of one ``fit``, with the
    data handed to fit as ``bigmodel train`` does (``fit_inputs``)."""
    timer = EpochTimer()
    model.fit(**fit_inputs(data, validation_data), epochs=epochs,
              callbacks=[*callbacks, timer], verbose=0, shuffle=False)
    return timer.seconds[1:]


def iterate_seconds(dataset: tf.data.Dataset) -> tuple[float, int]:
    """Seconds to read one pass of ``dataset`` and the examples it held."""
    examples = 0
    start = time.perf_counter()
    for batch in dataset:
        examples += int(tf.shape(tf.nest.flatten(batch)[0])[0])
    return time.perf_counter() - start, examples


def summary(seconds: list[float], work: float) -> dict:
    """Best and median rate of ``work`` units per measured second, plus the raw times."""
    return {
        "best_per_sec": round(work / min(seconds), 1),
        "median_per_sec": round(work / statistics.median(seconds), 1),
        "seconds": [round(s, 4) for s in seconds],
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
