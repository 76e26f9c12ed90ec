"""The run's training-state backup, written every epoch: exact, atomic and verified.

Keras' BackupAndRestore saves the weights (with the optimizer) and the epoch number, but
not the state of the dropout seed generators (not in ``model.weights``) or of the other
callbacks (EarlyStopping's best and patience, ModelCheckpoint's best, ...), so a resumed
run drifts from an uninterrupted one. It also writes in place (a kill while writing
truncates the file), only falls back to its previous copy on an OSError, and deletes the
backup when fit ends, even when evaluation or export then fail.

``RunBackup`` writes each finished epoch as a snapshot folder ``epoch-000003/``:
``variables.npz`` (every variable of the model, its seed generators included, and of the
optimizer, in a fixed order), EarlyStopping's best weights, and ``state.json`` with the
sha256 of each file and the callbacks' state. The epoch end only copies the values to
host memory (one compiled read); a writer thread then writes the folder under a
temporary name and renames it into place (checkpoint_io.py), so training does not wait
for the disk; the two newest snapshots are kept (for a run directory at a URL the writer
thread then pushes the working copy there: bigmodel_tf/remote_run.py). On restore the newest
snapshot whose files match their hashes wins; an unusable one is reported and the
previous one used.
If none is usable, or there is no backup although history.csv shows finished epochs, the
run stops with a RunDirError instead of training from scratch. The backup stays after
fit; ``remove_backup`` deletes it once the run is finished (metrics.json).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
from pathlib import Path

import keras
import numpy as np

from bigmodel_tf import remote_run
from bigmodel_tf.compat import set_initial_epoch
from bigmodel_tf.errors import RunDirError
from bigmodel_tf.manifest import sha256_file
from bigmodel_tf.training.checkpoint_io import BackgroundWriter, VariableReader

log = logging.getLogger("bigmodel_tf.training")

VARIABLES = "variables.npz"
BEST_WEIGHTS = "early_stopping.npz"
STATE = "state.json"
KEEP = 2  # snapshots kept: the newest and one to fall back to
# Attributes that carry a callback's decisions from one epoch to the next.
PEER_STATE = {
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_epoch"),
    "BestCheckpoint": ("best",),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
    "BlowupGuard": ("average_loss", "rollbacks"),
}


def _plain(value):
    """A callback attribute as a JSON value (NumPy scalars become Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def _arrays(npz: Path) -> list[np.ndarray]:
    """The arrays ``np.savez(path, *arrays)`` wrote, in their order."""
    with np.load(npz, allow_pickle=False) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def logged_epochs(history_csv: Path | None) -> int:
    """How many epoch rows history.csv holds (0 when there is none)."""
    if history_csv is None or not history_csv.exists():
        return 0
    with history_csv.open(newline="", encoding="utf-8") as handle:
        return sum(1 for row in csv.DictReader(handle) if row.get("epoch"))


def remove_backup(run_dir: Path) -> None:
    """Delete a finished run's backup (checkpoints/backup)."""
    shutil.rmtree(run_dir / "checkpoints" / "backup", ignore_errors=True)


class RunBackup(keras.callbacks.Callback):
    """Saves a verified snapshot every epoch and restores the newest usable one.

    ``peers`` are the other callbacks of the run (their state is saved too); place this
    callback after them, so that it saves what they decided at the end of the epoch and
    restores them after their own ``on_train_begin`` has reset them.
    """

    def __init__(self, backup_dir: str | Path, peers=(), history_csv: Path | None = None,
                 writer: BackgroundWriter | None = None):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.peers = list(peers)
        self.history_csv = history_csv
        self.restored_epoch = 0
        self._writer = writer or BackgroundWriter()  # shared with BestCheckpoint: in order
        self._reader: VariableReader | None = None

    def _state_variables(self) -> list:
        """Every variable a resume restores: the model's (seed generators included, which
        are not in ``model.weights``) and the optimizer's, in a fixed order."""
        optimizer = self.model.optimizer
        return [*self.model.variables, *(optimizer.variables if optimizer else [])]

    def _peer_items(self):
        """(key, callback, attribute names) of every peer with state worth saving."""
        for index, callback in enumerate(self.peers):
            names = PEER_STATE.get(type(callback).__name__)
            if names:
                yield f"{index}:{type(callback).__name__}", callback, names

    def _early_stopping(self):
        """The run's EarlyStopping callback, or None."""
        return next((c for c in self.peers if isinstance(c, keras.callbacks.EarlyStopping)),
                    None)

    # ------------------------------------------------------------------ save

    def on_epoch_end(self, epoch, logs=None):
        """Snapshot the state after ``epoch + 1`` finished epochs."""
        self.save(epoch + 1)

    def on_train_end(self, logs=None):
        """The last snapshot is on disk when fit returns."""
        self.flush()

    def flush(self) -> None:
        """Block until every snapshot taken so far is on disk (raise a failed write)."""
        self._writer.wait()

    def save(self, epochs_done: int) -> None:
        """Copy the state after ``epochs_done`` epochs now; write it on the writer thread."""
        if self._reader is None:  # the optimizer's variables exist after the first step
            self._reader = VariableReader(self._state_variables())
        stopper = self._early_stopping()
        state = {
            "epoch": epochs_done,
            "stopped": bool(self.model.stop_training),
            "callbacks": {key: {n: _plain(getattr(cb, n)) for n in names if hasattr(cb, n)}
                          for key, cb, names in self._peer_items()},
        }
        best = stopper.best_weights if stopper is not None else None  # replaced, not mutated
        self._writer.submit(self._write, self._reader.read(), best, state)
        self._writer.start()  # with best.keras queued before it (same writer)

    def _write(self, values: list[np.ndarray], best: list | None, state: dict) -> None:
        """Write one snapshot folder under a temporary name, rename it, prune old ones."""
        epochs_done = state["epoch"]
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.backup_dir / f".tmp-{os.getpid()}-{epochs_done}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        np.savez(tmp / VARIABLES, *values)
        if best is not None:
            np.savez(tmp / BEST_WEIGHTS, *best)
        state["files"] = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
        (tmp / STATE).write_text(json.dumps(state), encoding="utf-8")
        target = self.backup_dir / f"epoch-{epochs_done:06d}"
        if target.exists():  # an unusable snapshot of this epoch, replaced after a fallback
            shutil.rmtree(target)
        os.rename(tmp, target)
        for old in self._snapshots()[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
        remote_run.sync(self.backup_dir)  # a run directory at a URL gets the snapshot now

    # --------------------------------------------------------------- restore

    def _snapshots(self) -> list[Path]:
        """Snapshot folders, newest first."""
        if not self.backup_dir.is_dir():
            return []
        return sorted(self.backup_dir.glob("epoch-*"), reverse=True)

    def on_train_begin(self, logs=None):
        """Restore the newest usable snapshot, or check that nothing would be lost."""
        self._reader = None  # this fit's model may be a new one
        problems = []
        for snapshot in self._snapshots():
            try:
                self._load(snapshot)
            except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                problems.append(f"{snapshot.name}: {reason}")
                log.warning("backup %s is unusable (%s); trying the previous one",
                            snapshot, reason)
                continue
            log.info("resumed from %s: %d epoch(s) done", snapshot, self.restored_epoch)
            return
        if problems:
            raise RunDirError(
                f"{self.backup_dir}: no usable backup ({'; '.join(problems)}); the run "
                "cannot resume. Start it over with --force-new-run or a new --run-dir"
            )
        logged = logged_epochs(self.history_csv)
        if logged > 1:  # the newest row may precede its backup by one epoch
            raise RunDirError(
                f"{self.backup_dir}: no backup, but {self.history_csv} shows {logged} finished "
                "epochs; refusing to train them again from scratch. Start over with "
                "--force-new-run or a new --run-dir"
            )

    def _verified_state(self, snapshot: Path) -> dict:
        """state.json of a snapshot, after checking every file against its sha256."""
        state = json.loads((snapshot / STATE).read_text(encoding="utf-8"))
        for name, digest in state["files"].items():
            if sha256_file(snapshot / name) != digest:
                raise ValueError(f"{name} does not match its sha256 (truncated or corrupt)")
        return state

    def _load(self, snapshot: Path) -> None:
        """Restore the variables, the callbacks and the epoch from a snapshot."""
        state = self._verified_state(snapshot)
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            with self.model.distribute_strategy.scope():  # its slots mirror the weights
                optimizer.build(self.model.trainable_variables)
        variables = self._state_variables()
        values = _arrays(snapshot / VARIABLES)
        if [v.shape for v in values] != [tuple(v.shape) for v in variables]:
            raise ValueError("its variables do not match the model's (another model?)")
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
        for key, callback, _ in self._peer_items():
            for name, value in state["callbacks"].get(key, {}).items():
                setattr(callback, name, value)
        stopper = self._early_stopping()
        if stopper is not None and BEST_WEIGHTS in state["files"]:
            stopper.best_weights = _arrays(snapshot / BEST_WEIGHTS)
        self.restored_epoch = state["epoch"]
        # A run that early stopping ended trains no further epochs when resumed.
        epochs = (self.params or {}).get("epochs", state["epoch"])
        set_initial_epoch(self.model, epochs if state["stopped"] else state["epoch"])
