"""The backup: a corrupt snapshot falls back to the previous one, none usable or none at all
(after finished epochs) stops with a clear message, never a silent restart from scratch;
a NaN stop keeps the backup, exits non-zero and exports nothing; a changed config is
refused (--force-new-run moves the old run aside); a finished run is not retrained.
"""

import shutil

import keras
import numpy as np
import pytest

from bigmodel_tf.cli import main
from bigmodel_tf.errors import RunDirError
from bigmodel_tf.training import trainer
from bigmodel_tf.training.backup import RunBackup
from tests.reliability.conftest import EXPERIMENT

# Op determinism is process-wide; the in-process runs here leave it off.
IN_PROCESS = [*EXPERIMENT, "runtime.deterministic=false"]

X = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("int32")


def small_model():
    """A compiled two-layer classifier with dropout (a seed generator to restore)."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def fit(backup_dir, epochs, *extra, history_csv=None):
    """Fit a fresh model with a RunBackup (plus extra callbacks); returns (model, backup)."""
    model = small_model()
    backup = RunBackup(backup_dir, peers=extra, history_csv=history_csv)
    model.fit(X, Y, batch_size=16, epochs=epochs, callbacks=[*extra, backup], verbose=0)
    return model, backup


def test_snapshots_restore_weights_seeds_and_callback_state(tmp_path):
    stopper = keras.callbacks.EarlyStopping("loss", patience=50, restore_best_weights=True)
    model, _ = fit(tmp_path, 3, stopper)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-000002", "epoch-000003"]
    resumed = keras.callbacks.EarlyStopping("loss", patience=50, restore_best_weights=True)
    again, backup = fit(tmp_path, 3, resumed)  # nothing left to train
    assert backup.restored_epoch == 3
    for a, b in zip(model.variables, again.variables, strict=True):  # incl. seed state
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                      keras.ops.convert_to_numpy(b))
    assert resumed.best is not None
    assert (resumed.best, resumed.best_epoch, resumed.wait) == (
        stopper.best, stopper.best_epoch, stopper.wait)
    for a, b in zip(resumed.best_weights, stopper.best_weights, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("damage", ["truncate_weights", "garble_state"])
def test_a_corrupt_snapshot_falls_back_to_the_previous_one(tmp_path, damage, caplog):
    fit(tmp_path, 3)
    newest = tmp_path / "epoch-000003"
    if damage == "truncate_weights":
        weights = newest / "variables.npz"
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (newest / "state.json").write_text("{not json")
    history = keras.callbacks.History()
    _, backup = fit(tmp_path, 4, history)
    assert backup.restored_epoch == 2
    assert history.epoch == [2, 3]  # epochs 3 and 4 trained again, not 1 and 2
    assert "epoch-000003 is unusable" in caplog.text


def test_no_usable_snapshot_stops_with_a_clear_message(tmp_path):
    fit(tmp_path, 2)
    for snapshot in tmp_path.glob("epoch-*"):
        (snapshot / "variables.npz").write_bytes(b"")
    with pytest.raises(RunDirError, match="no usable backup.*--force-new-run"):
        fit(tmp_path, 4)


def test_a_missing_backup_after_finished_epochs_is_not_a_fresh_start(tmp_path):
    history_csv = tmp_path / "history.csv"
    history_csv.write_text("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n")
    with pytest.raises(RunDirError, match="3 finished epochs.*from scratch"):
        fit(tmp_path / "backup", 4, history_csv=history_csv)


@pytest.mark.slow
def test_nan_stop_keeps_the_backup_exits_2_and_exports_nothing(tmp_path, monkeypatch, capsys):
    class PoisonWeights(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:  # two epochs are backed up by now
                first = self.model.trainable_variables[0]
                first.assign(np.full(first.shape, np.nan, "float32"))

    build = trainer.build_callbacks
    monkeypatch.setattr(trainer, "build_callbacks", lambda *a, **k: [*build(*a, **k),
                                                                    PoisonWeights()])
    run, exports = tmp_path / "run", tmp_path / "exports"
    code = main(["train", "--run-dir", str(run), "--set", *IN_PROCESS,
                 "export.enabled=true", f"export.dir={exports}"])
    assert code == 2
    assert "training diverged" in capsys.readouterr().err
    assert not (run / "metrics.json").exists() and not (run / "model.keras").exists()
    assert not list(exports.rglob("saved_model.pb"))
    assert (run / "checkpoints" / "backup" / "epoch-000002" / "state.json").exists()


def test_changed_config_is_refused_and_force_new_run_moves_the_old_run(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--run-dir", str(run), "--set", *IN_PROCESS, "train.epochs=1"]
    assert main(args) == 0
    changed = [*args, "train.learning_rate=0.01"]
    assert main(changed) == 2
    err = capsys.readouterr().err
    assert "train.learning_rate: 0.05 -> 0.01" in err and "--force-new-run" in err
    assert main([*changed, "--force-new-run"]) == 0
    (old,) = tmp_path.glob("run.replaced-*")
    assert "learning_rate: 0.05" in (old / "config.yaml").read_text()
    assert "learning_rate: 0.01" in (run / "config.yaml").read_text()


def test_a_finished_run_is_not_retrained(tmp_path, reference_run, capsys):
    run = tmp_path / "run"
    shutil.copytree(reference_run, run)
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    # The reference's own config: found finished before determinism would be switched on.
    assert main(["train", "--run-dir", str(run), "--set", *EXPERIMENT]) == 0
    assert "already finished" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before
