"""The typed config: defaults, presets, --set conversion, and the error contract."""

from pathlib import Path

import pytest
import yaml

from bigmodel_tf.config import (
    config_hash,
    from_dict,
    load_config,
    parse_overrides,
    replace,
    run_name,
    save_config,
    to_dict,
)
from bigmodel_tf.errors import ConfigError

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))

CONTRACT_KEYS = [
    "seed", "data.name", "data.path", "data.label", "data.batch_size", "model.name",
    "train.epochs", "train.optimizer", "train.learning_rate", "runtime.logical_cpus",
    "runtime.mixed_precision", "runtime.jit_compile", "runtime.deterministic",
    "export.dir", "export.name",
]


def _get(cfg, dotted):
    value = cfg
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def test_contract_keys_exist_with_defaults():
    cfg = load_config()
    for key in CONTRACT_KEYS:
        _get(cfg, key)  # raises AttributeError if the contract key is missing
    assert cfg.data.name == "digits" and cfg.model.name == "auto"
    assert cfg.export.dir == "saved_models"


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_preset_loads(path):
    cfg = load_config(path)
    raw = yaml.safe_load(path.read_text())
    assert cfg.data.name == raw["data"]["name"]


def test_set_overrides_convert_types():
    cfg = load_config(None, [
        "train.epochs=5", "train.learning_rate=1e-3", "runtime.deterministic=true",
        "data.image_size=[28,28]", "train.clipnorm=1", "export.name=digits",
        "data.synthetic.class_proportions=0.9,0.1", "data.synthetic.num_classes=2",
    ])
    assert cfg.train.epochs == 5 and isinstance(cfg.train.epochs, int)
    assert cfg.train.learning_rate == pytest.approx(1e-3)
    assert cfg.runtime.deterministic is True
    assert cfg.data.image_size == [28, 28]
    assert cfg.train.clipnorm == 1.0 and isinstance(cfg.train.clipnorm, float)
    assert cfg.data.synthetic.class_proportions == [0.9, 0.1]
    assert load_config(None, ["train.clipnorm=null"]).train.clipnorm is None


def test_overrides_apply_on_top_of_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("train:\n  epochs: 3\nmodel:\n  name: mlp\n")
    cfg = load_config(path, ["train.epochs=4"])
    assert (cfg.train.epochs, cfg.model.name) == (4, "mlp")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.epochz=5"], "train.epochz: unknown key"),
        (["colour=red"], "colour: unknown key"),
        (["train.epochs=five"], "train.epochs: expected an integer"),
        (["train.epochs=0"], "train.epochs: expected a value between 1"),
        (["model.dropout=1.5"], "model.dropout: expected a value between 0.0 and 0.95"),
        (["train.optimizer=lion"], "train.optimizer: expected one of 'adam', 'adamw', 'sgd'"),
        (["runtime.deterministic=maybe"], "runtime.deterministic: expected true or false"),
        (["train.learning_rate=nan"], "train.learning_rate: expected a finite number"),
        (["data.name=csv"], "data.path: required when data.name=csv"),
        (["train.reduce_on_plateau=true", "train.schedule=cosine"],
         "train.reduce_on_plateau: cannot be combined with train.schedule=cosine"),
        (["train.clipnorm=1", "train.global_clipnorm=1"], "set at most one"),
        (["data.val_fraction=0.5", "data.test_fraction=0.45"], "expected a sum below 0.9"),
        (["model.name=transformer", "model.width=30", "model.num_heads=4"],
         "model.width: expected a multiple of model.num_heads"),
        (["export.name=../escape"], "export.name: expected a plain name"),
        (["train"], "expected KEY=VALUE"),
        (["train=5"], "train: expected a mapping"),
        (["train.epochs.x=1"], "train.epochs: expected an integer"),
    ],
)
def test_bad_values_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=None) as info:
        load_config(None, overrides)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_yaml_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.yaml")


def test_saved_config_round_trips_with_versions(tmp_path):
    cfg = load_config(None, ["train.epochs=7", "seed=3"])
    save_config(cfg, tmp_path / "config.yaml")
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert saved["versions"]["tensorflow"].startswith("2.21")
    assert saved["seed"] == 3
    again = load_config(tmp_path / "config.yaml")
    assert to_dict(again) == to_dict(cfg)
    assert run_name(again) == run_name(cfg)


def test_hash_follows_content_not_run_name():
    cfg = load_config()
    assert config_hash(cfg) == config_hash(replace(cfg, ["run_name=x", "export.name=y"]))
    assert config_hash(cfg) != config_hash(replace(cfg, ["seed=1"]))
    assert run_name(replace(cfg, ["model.name=cnn"])).startswith("digits-cnn-")


def test_parse_overrides_nests_keys():
    assert parse_overrides(["a.b=1", "a.c=x"]) == {"a": {"b": "1", "c": "x"}}
    assert from_dict({}).seed == 42
