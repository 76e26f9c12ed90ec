"""Preemption: SIGTERM stops a training run cleanly, keeps its backup, exits with status 75.

Preemptible and spot machines send SIGTERM, then SIGKILL after a grace period (seconds to
a minute). ``handle_sigterm()``, which the CLI wraps around a training command, turns
SIGTERM into ``RunPreempted``: at once outside ``fit`` (every artifact is written to a
temporary path and renamed, so nothing is left half-written), and inside ``fit`` at the
next batch boundary through the ``StopOnPreemption`` callback, so that no backup or
checkpoint file is interrupted while it is written. The backup of the last finished epoch
stays (``RunBackup`` never deletes it before the run is finished); running the same
command again resumes from it, and because the data order is a function of (seed, epoch)
the interrupted epoch is replayed with the same batches. The CLI exits with
``RunPreempted.exit_code`` (75, EX_TEMPFAIL: "try again later") so that a scheduler can
requeue the job.
"""

from __future__ import annotations

import contextlib
import signal

import keras

from bigmodel_tf.errors import RunPreempted

# Process-wide, like signals: whether SIGTERM arrived, and whether fit is running.
_STATE = {"requested": False, "in_fit": False}
MESSAGE = "preempted by SIGTERM"


def _stop_if_requested() -> None:
    """Raise RunPreempted when SIGTERM has arrived."""
    if _STATE["requested"]:
        raise RunPreempted(MESSAGE)


def _on_sigterm(signum, frame) -> None:
    """Signal handler: remember the request; outside fit, stop right away."""
    _STATE["requested"] = True
    if not _STATE["in_fit"]:
        _stop_if_requested()


@contextlib.contextmanager
def handle_sigterm():
    """Within this block SIGTERM raises RunPreempted (inside fit: at a batch boundary)."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    _STATE.update(requested=False, in_fit=False)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _STATE.update(requested=False, in_fit=False)


class StopOnPreemption(keras.callbacks.Callback):
    """Stops fit at the next batch or epoch boundary after SIGTERM (see handle_sigterm)."""

    def on_train_begin(self, logs=None):
        """From here on the signal handler defers to this callback."""
        _STATE["in_fit"] = True
        _stop_if_requested()

    def on_epoch_begin(self, epoch, logs=None):
        """Stop before an epoch starts (the previous one is backed up)."""
        _stop_if_requested()

    def on_train_batch_end(self, batch, logs=None):
        """Stop after the batch; the epoch reruns from its first batch on resume."""
        _stop_if_requested()

    def on_test_batch_end(self, batch, logs=None):
        """Stop during validation too (it can be long)."""
        _stop_if_requested()

    def on_train_end(self, logs=None):
        """After fit, SIGTERM stops the process at once again (and now, if it came)."""
        _STATE["in_fit"] = False
        _stop_if_requested()
