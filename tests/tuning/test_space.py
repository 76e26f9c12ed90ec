"""The search space and tune settings: canonical form, KerasTuner HyperParameters, errors."""

import pytest

from bigmodel_tf.errors import ConfigError
from bigmodel_tf.tuning.settings import (
    direction,
    load_tune_config,
    metric_value,
    parse_algorithms,
    resolve_tune,
)
from bigmodel_tf.tuning.space import base_values, to_hyperparameters


def resolved(*overrides, path=None):
    """The resolved config of ``bigmodel tune [--config path] --set overrides``."""
    return resolve_tune(load_tune_config(path, overrides))


def test_default_space_is_canonical_and_typed():
    space = resolved().tune.space
    assert space["train.learning_rate"] == {"type": "float", "min": 1e-4, "max": 1e-2,
                                            "log": True}
    assert space["model.width"] == {"type": "int", "min": 16, "max": 128, "log": False,
                                    "step": 16}
    assert space["data.batch_size"] == {"type": "choice", "values": [32, 64, 128]}


def test_set_edits_one_field_and_null_drops_a_key():
    space = resolved("tune.space.model.width.max=256", "tune.space.model.depth=null",
                     "tune.space.train.optimizer.type=choice",
                     "tune.space.train.optimizer.values=[adam,sgd]",
                     "tune.space.train.ema.type=bool").tune.space
    assert space["model.width"]["max"] == 256 and "model.depth" not in space
    assert space["train.optimizer"] == {"type": "choice", "values": ["adam", "sgd"]}
    assert space["train.ema"] == {"type": "bool"}


def test_set_of_a_new_type_drops_the_fields_it_does_not_take():
    space = resolved("tune.space.train.learning_rate.type=choice",  # was a float range
                     "tune.space.train.learning_rate.values=[0.001,0.01]",
                     "tune.space.model.width.type=int", "tune.space.model.width.step=null",
                     "tune.space.data.batch_size.type=int",  # was a choice: values dropped
                     "tune.space.data.batch_size.min=16",
                     "tune.space.data.batch_size.max=64").tune.space
    assert space["train.learning_rate"] == {"type": "choice", "values": [0.001, 0.01]}
    assert space["model.width"] == {"type": "int", "min": 16, "max": 128, "log": False}
    assert space["data.batch_size"] == {"type": "int", "min": 16, "max": 64, "log": False}
    with pytest.raises(ConfigError, match=r"train.learning_rate.values: expected a non-empty"):
        resolved("tune.space.train.learning_rate.type=choice")  # a choice needs its values


def test_nested_and_dotted_yaml_spaces_are_the_same(tmp_path):
    nested = tmp_path / "nested.yaml"
    nested.write_text("tune:\n  space:\n    model:\n      width: {type: int, min: 8, max: 32}\n")
    dotted = tmp_path / "dotted.yaml"
    dotted.write_text("tune:\n  space:\n    model.width: {type: int, min: 8, max: 32}\n")
    assert resolved(path=nested).tune.space == resolved(path=dotted).tune.space == {
        "model.width": {"type": "int", "min": 8, "max": 32, "log": False}}


def test_hyperparameters_start_from_the_config_values():
    cfg = resolved("train.learning_rate=0.003", "model.width=200")
    hp = to_hyperparameters(cfg.tune.space, base_values(cfg))
    assert hp.values["train.learning_rate"] == 0.003
    assert hp.values["model.width"] == 16  # 200 is outside the space: KerasTuner's default
    assert hp.values["data.batch_size"] == 64
    assert {p.name: p.__class__.__name__ for p in hp.space} == {
        "train.learning_rate": "Float", "model.width": "Int", "model.depth": "Int",
        "model.dropout": "Float", "data.batch_size": "Choice"}


@pytest.mark.parametrize("overrides, message", [
    (["tune.space.model.widht.type=int"], "tune.space.model.widht: unknown config key "
                                          "(did you mean model.width?)"),
    (["tune.space.data.batch_size.values=[]"], "tune.space.data.batch_size.values: expected "
                                               "a non-empty list"),
    (["tune.space.model.width.min=200"], "tune.space.model.width: expected min <= max, got "
                                         "min 200 > max 128"),
    (["tune.space.model.dropout.min=-1"], "tune.space.model.dropout.min: expected a value "
                                          "between 0.0 and 0.95"),
    (["tune.space.model.width.type=float"], "model.width holds int values"),
    (["tune.space.model.depth.mx=3"], "tune.space.model.depth.mx: unknown field"),
    (["tune.space.model.depth.values=[1]"], "tune.space.model.depth.values: not a field of "
                                            "type int"),
    (["tune.space.train.optimizer.type=choice", "tune.space.train.optimizer.values=[adam,rms]"],
     "tune.space.train.optimizer.values[1]: expected one of 'adam', 'adamw', 'sgd'"),
    (["tune.space.train.epochs.type=int"], "tune.space.train.epochs: cannot be searched"),
    (["tune.space.model.depth.type=number"], "tune.space.model.depth.type: expected one of"),
    (["tune.space.data.image_size.type=choice", "tune.space.data.image_size.values=[8]"],
     "tune.space.data.image_size: cannot be searched"),
    (["tune.space.model.width.step=0"], "tune.space.model.width.step: expected a step > 0"),
    (["tune.space=3"], "tune.space: expected a mapping"),
    (["tune.objective=val_acc"], "tune.objective: expected a number of metrics.json"),
    (["tune.tournament_size=9"], "tune.tournament_size: expected at most tune.population_size"),
    (["tune.lr_finder_min=1", "tune.lr_finder_max=0.1"], "tune.lr_finder_min: expected less"),
])
def test_bad_settings_fail_with_one_clear_message(overrides, message):
    with pytest.raises(ConfigError) as info:
        resolved(*overrides)
    assert message in str(info.value)


def test_log_scale_with_min_at_zero_is_refused():
    with pytest.raises(ConfigError, match=r"a log scale needs min > 0, got 0"):
        resolved("tune.space.model.dropout.log=true")


def test_an_empty_space_is_refused():
    with pytest.raises(ConfigError, match="tune.space: expected at least one key"):
        resolved(*(f"tune.space.{k}=null" for k in (
            "train.learning_rate", "model.width", "model.depth", "model.dropout",
            "data.batch_size")))


def test_direction_and_metric_paths():
    assert direction(resolved().tune) == "max"
    assert direction(resolved("tune.objective=val.loss").tune) == "min"
    assert direction(resolved("tune.objective=val.loss", "tune.direction=max").tune) == "max"
    metrics = {"val": {"accuracy": 0.9, "roc_auc": None}, "epochs_run": 3}
    assert metric_value(metrics, "val.accuracy") == 0.9
    assert metric_value(metrics, "epochs_run") == 3.0
    assert metric_value(metrics, "val.roc_auc") is None
    with pytest.raises(KeyError):
        metric_value(metrics, "val.f1_macro")


def test_compare_list():
    assert parse_algorithms("random, evolution") == ["random", "evolution"]
    for bad in ("random,random", "random,annealing", ""):
        with pytest.raises(ConfigError, match="--compare: expected distinct algorithms"):
            parse_algorithms(bad)
