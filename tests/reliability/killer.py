"""Test helper: train through the CLI and signal this process at an exact point of fit.

``python killer.py EPOCH BATCH SIGNAL [bigmodel train arguments...]`` runs ``bigmodel
train ...`` with one extra callback that sends SIGNAL (KILL or TERM) to this process at the
end of batch BATCH of epoch EPOCH (both 0-based), or when epoch EPOCH begins: with
BATCH = -1 once the previous epoch's backup is on disk, with BATCH = -2 at once (its
snapshot may still be being written by the backup's writer thread). Exits with the CLI's
status.
"""

import os
import signal
import sys

import keras

from bigmodel_tf import cli
from bigmodel_tf.training import train
from bigmodel_tf.training.backup import RunBackup


class Killer(keras.callbacks.Callback):
    """Sends a signal to this process at (epoch, batch)."""

    def __init__(self, epoch: int, batch: int, signum: int):
        super().__init__()
        self.epoch, self.batch, self.signum = epoch, batch, signum
        self.current = -1
        self.peers: list[RunBackup] = []  # the run's backup, flushed before a -1 signal

    def on_epoch_begin(self, epoch, logs=None):
        """Signal at the start of the epoch when batch is -1 (backup flushed) or -2."""
        self.current = epoch
        if epoch == self.epoch and self.batch < 0:
            if self.batch == -1:
                for backup in self.peers:
                    backup.flush()
            os.kill(os.getpid(), self.signum)

    def on_train_batch_end(self, batch, logs=None):
        """Signal after the given batch."""
        if self.current == self.epoch and batch == self.batch:
            os.kill(os.getpid(), self.signum)


def main(argv: list[str]) -> int:
    """Patch the callback list, then run ``bigmodel train``."""
    epoch, batch, name, *train_args = argv
    killer = Killer(int(epoch), int(batch), getattr(signal, f"SIG{name}"))
    build = train.build_callbacks

    def with_killer(*args, **kwargs):
        callbacks = build(*args, **kwargs)
        killer.peers = [c for c in callbacks if isinstance(c, RunBackup)]
        return [*callbacks, killer]

    train.build_callbacks = with_killer
    return cli.main(["train", *train_args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
