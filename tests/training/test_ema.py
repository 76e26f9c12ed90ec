"""train.ema: the EMA weights are what is validated, kept as best, saved and evaluated.

A recorder placed first in the callback list copies the optimizer's averages at every
epoch end (the model still holds the training weights there); after a short run with
early stopping, the weights kept must be those averages of the best epoch, bit for bit,
and the best epoch's logged val loss must be model.keras's val loss. Checked for fit
(one device, through the experiments layer's ``run``) and for the multi-worker custom
loop (run on the default strategy, which it supports alike).
"""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.experiments import run
from bigmodel_tf.models import build_model
from bigmodel_tf.training import trainer as train_module
from bigmodel_tf.training.callbacks import build_callbacks
from bigmodel_tf.training.custom_loop import fit_distributed
from bigmodel_tf.training.ema import ema_optimizer
from bigmodel_tf.training.trainer import compile_model
from tests.pipelines import config_dataset, config_reader

pytestmark = pytest.mark.slow

OVERRIDES = ["data.name=iris", "model.name=mlp", "train.ema=true", "train.ema_momentum=0.8",
             "train.epochs=8", "train.early_stopping_patience=2", "train.learning_rate=0.05",
             "train.histogram_freq=0", "export.enabled=false", "evaluation.baselines=[]",
             "evaluation.interpret=false"]


class AverageRecorder(keras.callbacks.Callback):
    """Copies of the optimizer's EMA variables at each epoch end."""

    def __init__(self):
        super().__init__()
        self.averages: dict[int, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch, logs=None):
        optimizer = ema_optimizer(self.model)
        self.averages[epoch] = [np.array(v) for v in optimizer._model_variables_moving_average]


def best_epoch(history_csv) -> tuple[int, float]:
    """The epoch with the lowest val_loss in history.csv, and that loss."""
    with open(history_csv, newline="") as handle:
        rows = [(int(r["epoch"]), float(r["val_loss"])) for r in csv.DictReader(handle)]
    return min(rows, key=lambda row: row[1])


def assert_ema_of_best_epoch(model, recorder, history_csv, cfg):
    epoch, val_loss = best_epoch(history_csv)
    assert epoch < max(recorder.averages), "early stopping should restore an earlier epoch"
    for weight, average in zip(model.trainable_weights, recorder.averages[epoch], strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(weight), average)
    evaluated = model.evaluate(config_dataset(cfg, "val"), verbose=0, return_dict=True)
    assert evaluated["loss"] == pytest.approx(val_loss, rel=1e-6)


def test_fit_keeps_the_ema_weights_of_the_best_epoch(tmp_path, monkeypatch):
    recorder = AverageRecorder()

    def with_recorder(*args, **kwargs):
        return [recorder, *build_callbacks(*args, **kwargs)]

    monkeypatch.setattr(train_module, "build_callbacks", with_recorder)
    cfg = load_config(None, OVERRIDES)
    result = run(cfg, tmp_path / "run")
    saved = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert_ema_of_best_epoch(saved, recorder, tmp_path / "run" / "history.csv", cfg)
    best = keras.models.load_model(tmp_path / "run" / "checkpoints" / "best.keras")
    for a, b in zip(saved.get_weights(), best.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # evaluation ran on the same (EMA) weights: metrics.json's val loss is the model's
    assert result.metrics["val"]["loss"] == pytest.approx(
        saved.evaluate(config_dataset(cfg, "val"), verbose=0, return_dict=True)["loss"],
        rel=1e-4)


def test_custom_loop_keeps_the_ema_weights_of_the_best_epoch(tmp_path):
    cfg = load_config(None, OVERRIDES)
    keras.utils.set_random_seed(cfg.seed)
    steps = int(config_dataset(cfg, "train").cardinality())
    spec = load_splits(cfg).spec
    model = build_model(cfg.model, spec)
    compile_model(model, cfg.train, cfg.runtime, cfg.task, spec.task, steps)
    recorder = AverageRecorder()
    callbacks = [recorder, *build_callbacks(cfg.train, tmp_path, examples_per_epoch=steps)]
    fit_distributed(tf.distribute.get_strategy(), model, config_reader(cfg), steps,
                    cfg.train.epochs, callbacks, 0)
    assert_ema_of_best_epoch(model, recorder, tmp_path / "history.csv", cfg)
