"""The task registry, task inference, heads, losses and the config rules of each task."""

import keras
import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.models import build_model
from bigmodel_tf.tasks import TASK_NAMES, get_task, infer_task
from bigmodel_tf.training.model_choice import auto_model


@pytest.mark.parametrize(("labels", "task"), [
    (["cat", "dog", "cat"], "classification"),  # text
    (["1", "2", "3", "1"], "classification"),  # few integers
    (np.arange(10).repeat(5), "classification"),
    (np.linspace(0.0, 1.0, 5).repeat(4), "classification"),  # floats, few distinct values
    (np.linspace(-3.0, 7.0, 200), "regression"),  # floats, many distinct values
    ([f"{v:.3f}" for v in np.linspace(0.0, 50.0, 100)], "regression"),  # CSV cells
    (np.arange(100), "regression"),  # integers with many distinct values (counts, prices)
    (["1.5", "two", "3"], "classification"),  # not all numbers
])
def test_infer_task(labels, task):
    """Strings or few distinct numbers: classification; many distinct numbers: regression."""
    assert infer_task(labels) == task


def test_registry():
    """Every task name resolves to its task; an unknown name is refused."""
    assert [get_task(name).name for name in TASK_NAMES] == list(TASK_NAMES)
    assert get_task("regression").direction == "min"
    with pytest.raises(ValueError, match="expected one of"):
        get_task("ranking")


def _spec(task: str) -> DataSpec:
    return DataSpec(kind="tabular", input_shape=[3], class_names=[] if task == "regression"
                    else ["a", "b", "c"], task=task, label_mean=10.0, label_std=4.0)


@pytest.mark.parametrize(("task", "units", "name"), [("classification", 3, "probabilities"),
                                                     ("regression", 1, "prediction")])
@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_head_output_is_float32(task, units, name, policy):
    """Each head ends in a float32 layer of the task's width, whatever the precision policy."""
    keras.mixed_precision.set_global_policy(policy)
    cfg = load_config(None, ["model.name=mlp", f"task.name={task}"])
    model = build_model(cfg.model, _spec(task))
    out = model(np.zeros((4, 3), np.float32))
    assert model.layers[-1].name == name
    assert tuple(out.shape) == (4, units) and out.dtype == "float32"


def test_regression_head_predicts_in_label_units():
    """A zero network predicts the train label mean: the rescale maps unit scale to units."""
    cfg = load_config(None, ["model.name=mlp", "model.depth=0", "task.name=regression"])
    model = build_model(cfg.model, _spec("regression"))
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    np.testing.assert_allclose(model.predict(np.ones((2, 3), np.float32), verbose=0), 10.0)


def test_losses_follow_task_loss():
    """auto is cross-entropy / MSE; huber takes task.huber_delta."""
    task = get_task("regression")
    assert isinstance(task.loss(load_config(None, []).task, keras), keras.losses.MeanSquaredError)
    huber = task.loss(load_config(None, ["task.loss=huber", "task.huber_delta=2.5"]).task, keras)
    # linear beyond delta: delta * (|error| - delta / 2)
    assert float(huber(np.zeros(1), np.full((1, 1), 5.0))) == pytest.approx(2.5 * (5 - 1.25))
    assert [m.name for m in task.compile_metrics(keras)] == ["mae", "rmse"]


@pytest.mark.parametrize(("overrides", "message"), [
    (["data.imbalance.class_weight=balanced"], "data.imbalance: class weights and resampling "
     "are for classification"),
    (["data.imbalance.resample=oversample"], "data.imbalance:"),
    (["task.loss=crossentropy"], "task.loss=crossentropy: expected auto or mse or huber"),
    (["train.monitor=val_accuracy"], "train.monitor=val_accuracy: regression has no accuracy"),
])
def test_regression_config_rules(overrides, message):
    """Settings that make no sense for regression are one ConfigError naming the key."""
    cfg = load_config(None, ["data.name=diabetes", *overrides])
    with pytest.raises(ConfigError, match=message):
        auto_model(cfg)


def test_task_name_must_fit_a_fixed_task_data_set():
    """task.name=regression on digits (class labels) is refused, naming both keys."""
    cfg = load_config(None, ["task.name=regression"])
    with pytest.raises(ConfigError, match="task.name=regression: data.name=digits is a "
                                          "classification data set"):
        load_splits(cfg)


def test_auto_resolves_task_and_model_for_regression_data():
    """diabetes: task auto -> regression, model auto -> mlp; the config records both."""
    cfg, reason = auto_model(load_config(None, ["data.name=diabetes"]))
    assert (cfg.task.name, cfg.model.name) == ("regression", "mlp")
    assert "task.name=auto chose regression" in reason


def test_tflite_check_of_regression():
    """RMSE of float and converted predictions, their relative change, max abs diff."""
    labels = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    reference = labels + np.array([0.1, -0.1, 0.1, -0.1], np.float32)
    check = get_task("regression").tflite_check(reference[:, None], reference[:, None] + 0.01,
                                                labels)
    assert check["rmse_float"] == pytest.approx(0.1)
    assert check["max_abs_diff"] == pytest.approx(0.01, rel=1e-3)
    assert check["within_tolerance"] == (check["rmse_relative_change"] <= 0.02)
