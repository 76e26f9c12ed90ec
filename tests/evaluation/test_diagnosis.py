"""The fit diagnosis from metrics and curves, its thresholds in the config, and its advice."""

import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.evaluation import diagnosis
from bigmodel_tf.evaluation.diagnosis import set_command
from bigmodel_tf.tasks import get_task


def diagnose(metrics, history, cfg, kind):
    """The diagnosis of a classification run (the task reads its accuracy)."""
    return diagnosis.diagnose(metrics, history, cfg, kind, get_task("classification"))


def metrics(train, val):
    """Train/val accuracies in the shape of metrics.json."""
    return {"train": {"accuracy": train}, "val": {"accuracy": val}}


def history(loss, val_loss):
    """history.csv columns."""
    return {"loss": list(loss), "val_loss": list(val_loss)}


FLAT = history([1.0, 0.5, 0.3, 0.296], [1.0, 0.6, 0.4, 0.39])  # converged


def test_good_fit():
    fit = diagnose(metrics(0.98, 0.96), FLAT, load_config(), "image")
    assert fit["label"] == "good_fit" and fit["advice"] == []
    assert fit["best_val_loss_epoch"] == 4


def test_overfit_from_the_gap_names_regularization_keys():
    fit = diagnose(metrics(1.0, 0.8), FLAT, load_config(), "image")
    assert fit["label"] == "overfit"
    keys = {a["key"] for a in fit["advice"]}
    assert {"model.dropout", "model.l2", "data.augment.rotation", "model.width"} <= keys
    assert "evaluation.overfit_gap" in fit["reasons"][0]


def test_overfit_from_the_curves_when_the_gap_is_small():
    curves = history([1.0, 0.4, 0.2, 0.1, 0.05], [0.8, 0.5, 0.6, 0.7, 0.9])
    fit = diagnose(metrics(0.99, 0.97), curves, load_config(), "tabular")
    assert fit["label"] == "overfit"
    assert fit["val_loss_rise"] == pytest.approx(0.8)
    assert "data.augment.rotation" not in {a["key"] for a in fit["advice"]}  # tabular


def test_underfit_of_a_linear_model_suggests_depth_epochs_and_learning_rate():
    cfg = load_config(None, ["model.name=mlp", "model.depth=0", "train.epochs=1"])
    fit = diagnose(metrics(0.7, 0.69), history([2.0], [1.8]), cfg, "image")
    assert fit["label"] == "underfit"
    advice = {a["key"]: a for a in fit["advice"]}
    assert advice["model.depth"]["suggested"] == 2
    assert advice["train.epochs"]["suggested"] >= 3
    assert advice["train.learning_rate"]["suggested"] > cfg.train.learning_rate
    assert "model.depth=2" in set_command(fit["advice"])


def test_thresholds_come_from_the_config():
    m = metrics(0.95, 0.91)
    assert diagnose(m, FLAT, load_config(), "image")["label"] == "good_fit"
    strict = load_config(None, ["evaluation.overfit_gap=0.02"])
    assert diagnose(m, FLAT, strict, "image")["label"] == "overfit"
    demanding = load_config(None, ["evaluation.underfit_accuracy=0.99"])
    assert diagnose(m, FLAT, demanding, "image")["label"] == "underfit"


def test_unconverged_good_fit_suggests_more_epochs():
    fit = diagnose(metrics(0.95, 0.94), history([1.0, 0.6], [0.9, 0.55]), load_config(), "image")
    assert fit["label"] == "good_fit"
    assert [a["key"] for a in fit["advice"]] == ["train.epochs"]
