"""Test helper: train through the CLI and signal this process at an exact point of fit.

``python killer.py EPOCH BATCH SIGNAL [bigmodel train arguments...]`` runs ``bigmodel
train ...`` with one extra callback that sends SIGNAL (KILL or TERM) to this process at the
end of batch BATCH of epoch EPOCH (both 0-based), or, with BATCH = -1, when epoch EPOCH
begins. It first waits until the previous epoch's backup is on disk (the backup's writer
thread may still be writing it a few batches into the epoch), so the test knows which
snapshot a resume finds; with BATCH = -2 it signals at once as epoch EPOCH begins (the
snapshot may be in flight). Exits with the CLI's status.
"""

import os
import signal
import sys

import keras

from bigmodel_tf import cli
from bigmodel_tf.training import trainer
from bigmodel_tf.training.backup import RunBackup


class Killer(keras.callbacks.Callback):
    """Sends a signal to this process at (epoch, batch)."""

    def __init__(self, epoch: int, batch: int, signum: int):
        super().__init__()
        self.epoch, self.batch, self.signum = epoch, batch, signum
        self.current = -1
        self.peers: list[RunBackup] = []  # the run's backup, flushed before signalling

    def _signal(self, flush: bool = True) -> None:
        """Send the signal, after the backup's pending writes landed when ``flush``."""
        if flush:
            for backup in self.peers:
                backup.flush()
        os.kill(os.getpid(), self.signum)

    def on_epoch_begin(self, epoch, logs=None):
        """Signal at the start of the epoch when batch is -1 (backup flushed) or -2."""
        self.current = epoch
        if epoch == self.epoch and self.batch < 0:
            self._signal(flush=self.batch == -1)

    def on_train_batch_end(self, batch, logs=None):
        """Signal after the given batch."""
        if self.current == self.epoch and batch == self.batch:
            self._signal()


def main(argv: list[str]) -> int:
    """Patch the callback list, then run ``bigmodel train``."""
    epoch, batch, name, *train_args = argv
    killer = Killer(int(epoch), int(batch), getattr(signal, f"SIG{name}"))
    build = trainer.build_callbacks

    def with_killer(*args, **kwargs):
        callbacks = build(*args, **kwargs)
        killer.peers = [c for c in callbacks if isinstance(c, RunBackup)]
        return [*callbacks, killer]

    trainer.build_callbacks = with_killer
    return cli.main(["train", *train_args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
