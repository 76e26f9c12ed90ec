"""Loss blow-up: roll back to the last good epoch with a lower rate, a bounded number of times."""

import csv
import json
import math

import keras
import numpy as np
import pytest

from bigmodel_tf.cli import main
from bigmodel_tf.errors import TrainingDivergedError
from bigmodel_tf.training.blowup import BlowupGuard


def guarded_model(factor=None, max_rollbacks=2, lr_factor=0.5):
    """A compiled tiny model and a guard attached to it, at the start of epoch 1."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    guard = BlowupGuard(factor, max_rollbacks, lr_factor)
    guard.set_model(model)
    guard.on_epoch_begin(0)
    return model, guard


def test_nan_restores_the_snapshot_and_lowers_the_rate():
    model, guard = guarded_model()
    good = model.get_weights()
    model.set_weights([w + 5 for w in good])
    guard.on_train_batch_end(0, {"loss": math.nan})
    for a, b in zip(model.get_weights(), good, strict=True):
        np.testing.assert_array_equal(a, b)
    assert guard.rollbacks == 1
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    guard.on_train_batch_end(0, {"loss": math.inf})
    assert float(model.optimizer.learning_rate) == pytest.approx(0.025)  # compounding
    with pytest.raises(TrainingDivergedError, match=r"became nan .* after 2 rollback\(s\)"):
        guard.on_train_batch_end(1, {"loss": math.nan})


def test_a_spike_against_the_recent_batch_losses_rolls_back():
    _, guard = guarded_model(factor=5)
    # Keras logs running means; the batches' own losses are 2, 2, 2, 2, then 42.
    for batch, running in enumerate([2.0, 2.0, 2.0, 2.0]):
        guard.on_train_batch_end(batch, {"loss": running})
    assert guard.rollbacks == 0 and guard.average_loss == pytest.approx(2.0)
    guard.on_train_batch_end(4, {"loss": (4 * 2.0 + 42.0) / 5})
    assert guard.rollbacks == 1


def test_without_rollbacks_the_first_blowup_stops_and_no_snapshot_is_kept():
    _, guard = guarded_model(max_rollbacks=0)
    guard.on_epoch_end(0, {"loss": 1.0})
    assert guard._snapshot is None
    with pytest.raises(TrainingDivergedError, match="training diverged: the loss became nan"):
        guard.on_train_batch_end(0, {"loss": math.nan})


UNSTABLE = ["model.name=mlp", "train.optimizer=sgd", "model.normalization=none",
            "model.dropout=0", "train.epochs=6", "train.early_stopping_patience=0",
            "export.enabled=false", "evaluation.baselines=[]", "evaluation.interpret=false"]


@pytest.mark.slow
def test_an_unstable_learning_rate_recovers_by_rolling_back(tmp_path):
    """At rate 10 the loss explodes in the first epoch; two rollbacks bring it to 0.1."""
    code = main(["train", "--run-dir", str(tmp_path / "run"), "--set", *UNSTABLE,
                 "train.learning_rate=10", "train.blowup_factor=5", "train.max_rollbacks=3",
                 "train.rollback_lr_factor=0.1"])
    assert code == 0
    with (tmp_path / "run" / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    assert int(rows[-1]["rollbacks"]) >= 1
    assert float(rows[-1]["learning_rate"]) <= 1.0 + 1e-6
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9


@pytest.mark.slow
def test_rollbacks_are_bounded_then_training_stops(tmp_path, capsys):
    code = main(["train", "--run-dir", str(tmp_path / "run"), "--set", *UNSTABLE,
                 "train.learning_rate=100", "train.blowup_factor=5", "train.max_rollbacks=1",
                 "train.rollback_lr_factor=0.9"])
    assert code == 2
    assert "after 1 rollback(s)" in capsys.readouterr().err
    assert not (tmp_path / "run" / "metrics.json").exists()
