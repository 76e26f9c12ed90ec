"""Checkpoint writes that training does not wait for: a host copy now, the files later.

At an epoch end a checkpointing callback copies what it saves to host memory with one
compiled read of every variable (``VariableReader``), hands the serialization, hashing
and renaming to a ``BackgroundWriter`` thread and returns, so the next epoch starts at
once, as asynchronous checkpointing does in Orbax. One batch of writes is in flight at
a time: the next one waits for it, so files land in epoch order (a snapshot lags the
history by at most one epoch) and ``wait`` re-raises a failed write. A pending write
also finishes when the process exits (the thread is joined), except under SIGKILL, where
the previous snapshot is the one a resume finds.

``BestCheckpoint`` is Keras' ModelCheckpoint (same monitor, mode and ``best``) with the
write of ``best.keras`` moved to that thread: a copy of the model on the host CPU receives
the best weights and is saved there (``run_dir.save_model``).
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from bigmodel_tf.training.run_dir import save_model

log = logging.getLogger("bigmodel_tf.training")

class BackgroundWriter:
    """One writer thread shared by a run's checkpointing callbacks, writing in order.

    ``submit`` queues a write; ``start`` hands the queued writes, in submission order, to
    the thread once its previous batch is done; ``wait`` starts and waits. Queuing first
    lets the callbacks of one epoch end all copy their state before any write competes
    with them for the GIL, and keeps best.keras of an epoch on disk before that epoch's
    snapshot (whose ``best`` refers to it).
    """

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bigmodel-writer")
        self._queued: list = []
        self._running: Future | None = None

    def submit(self, write, *args) -> None:
        """Queue ``write(*args)`` for the next ``start``."""
        self._queued.append((write, args))

    def start(self) -> None:
        """Hand the queued writes to the thread (after waiting for the previous ones)."""
        if not self._queued:
            return
        self._wait_running()
        queued, self._queued = self._queued, []
        self._running = self._pool.submit(lambda: [write(*args) for write, args in queued])

    def wait(self) -> None:
        """Block until every submitted write is on disk; raise the error of a failed one."""
        self.start()
        self._wait_running()

    def _wait_running(self) -> None:
        """Block until the writes handed to the thread are done (raise their error)."""
        running, self._running = self._running, None
        if running is not None:
            running.result()


class VariableReader:
    """Host (NumPy) copies of a fixed list of variables, read by one compiled call.

    Reading variables one by one costs an eager op dispatch each; one ``tf.function``
    returning them all costs one call. The arrays are copies: training may
    change the variables right after.
    """

    def __init__(self, variables):
        self.variables = list(variables)
        self._read = tf.function(lambda: [tf.convert_to_tensor(v) for v in self.variables])

    def read(self) -> list[np.ndarray]:
        """The current values, as arrays the caller owns."""
        if not self.variables:
            return []
        return [np.array(value) for value in self._read()]


@contextlib.contextmanager
def writes_landed(callbacks):
    """Within the block, fit; after it, every callback's background writes are on disk.

    Keras calls ``on_train_end`` (which waits) only when fit returns; when it raises (a
    diverged loss, SIGTERM), the snapshot of the last good epoch must still land before
    the error is reported. A write that fails then is logged, not raised over the error.
    """
    try:
        yield
    except BaseException:
        for callback in callbacks:
            try:
                getattr(callback, "flush", lambda: None)()
            except Exception as exc:  # noqa: BLE001 - the fit's error is the one to report
                log.error("a checkpoint write failed: %s", exc)
        raise


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint(save_best_only) whose ``best.keras`` is written on a writer thread.

    The decision (improved or not) and ``best`` stay Keras'; the write gets a host copy of
    the weights and saves them through a CPU copy of the model with the same compile
    config, so ``keras.models.load_model`` gives a model ready to evaluate (without the
    optimizer's state: resuming uses the run backup).
    """

    def __init__(self, filepath: str | Path, monitor: str,
                 writer: BackgroundWriter | None = None):
        super().__init__(str(filepath), monitor=monitor, save_best_only=True)
        self._writer = writer or BackgroundWriter()
        self._reader: VariableReader | None = None
        self._host_model: keras.Model | None = None

    def on_train_begin(self, logs=None):
        """Read the weights of the model being trained (a new fit may bring a new model)."""
        super().on_train_begin(logs)
        self._reader = VariableReader(self.model.weights)
        self._host_model = None

    def _save_model(self, epoch, batch, logs):
        """Keras' decision; a host copy of the weights now, the file on the writer thread
        (started by the run backup after its own copy, or when the next epoch begins)."""
        if self._should_save_model(epoch, batch, logs, self.filepath):
            self._writer.submit(self._write, self._reader.read())

    def on_epoch_begin(self, epoch, logs=None):
        """Start a write no later callback started."""
        super().on_epoch_begin(epoch, logs)
        self._writer.start()

    def _write(self, weights: list[np.ndarray]) -> None:
        """Save ``weights`` as best.keras through the host copy of the model (writer thread)."""
        if self._host_model is None:
            with tf.device("/cpu:0"):
                self._host_model = keras.models.clone_model(self.model)
                config = self.model.get_compile_config()
                if config:
                    self._host_model.compile_from_config(config)
        self._host_model.set_weights(weights)
        target = Path(self.filepath)
        target.parent.mkdir(parents=True, exist_ok=True)
        save_model(self._host_model, target)

    def on_train_end(self, logs=None):
        """The last best.keras is on disk when fit returns."""
        self.flush()
        super().on_train_end(logs)

    def flush(self) -> None:
        """Block until the last best.keras submitted is on disk (raise a failed write)."""
        self._writer.wait()
