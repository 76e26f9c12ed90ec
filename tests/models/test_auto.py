"""model.name=auto: the default model follows the data and is recorded concretely."""

import dataclasses

from bigmodel_tf.config import load_config, replace, run_name
from bigmodel_tf.models import build_model
from bigmodel_tf.models.auto import SMALL_TABULAR, SMALL_TABULAR_MAX_TRAIN, resolve_model
from bigmodel_tf.training.doctor import doctor
from bigmodel_tf.training.model_choice import auto_model


def _with_train_examples(spec, examples):
    """``spec`` whose train split holds ``examples`` examples over its classes."""
    share = examples // spec.num_classes
    counts = {name: share for name in spec.class_names}
    counts[spec.class_names[0]] += examples - share * spec.num_classes
    return dataclasses.replace(spec, class_counts=counts)


def test_auto_is_the_default_and_picks_the_cnn_for_images(image_spec):
    cfg = load_config()
    assert cfg.model.name == "auto"
    resolved, reason = resolve_model(cfg, image_spec)
    assert resolved.model.name == "cnn" and reason == "model.name=auto chose cnn (image data)"
    assert (resolved.train, resolved.data) == (cfg.train, cfg.data)  # no recipe for images


def test_small_tabular_data_gets_the_mlp_with_the_recipe(tabular_spec):
    spec = _with_train_examples(tabular_spec, 115)
    resolved, reason = resolve_model(load_config(), spec)
    assert resolved.model.name == "mlp"
    for key, value in SMALL_TABULAR.items():
        section, field = key.split(".")
        assert getattr(getattr(resolved, section), field) == value, key
    assert "115 train examples" in reason and "small-tabular recipe" in reason


def test_the_recipe_keeps_keys_set_to_other_values(tabular_spec):
    spec = _with_train_examples(tabular_spec, 115)
    cfg = load_config(None, ["data.batch_size=8", "train.epochs=7"])
    resolved, reason = resolve_model(cfg, spec)
    assert (resolved.data.batch_size, resolved.train.epochs) == (8, 7)
    patience = SMALL_TABULAR["train.early_stopping_patience"]
    assert resolved.train.early_stopping_patience == patience
    assert "data.batch_size" not in reason and "train.epochs" not in reason


def test_large_tabular_data_gets_the_plain_mlp(tabular_spec):
    spec = _with_train_examples(tabular_spec, SMALL_TABULAR_MAX_TRAIN)
    cfg = load_config()
    resolved, _ = resolve_model(cfg, spec)
    assert resolved.model == dataclasses.replace(cfg.model, name="mlp")
    assert resolved.train == cfg.train


def test_a_concrete_model_is_left_alone(tabular_spec):
    cfg = load_config(None, ["model.name=transformer"])
    assert resolve_model(cfg, _with_train_examples(tabular_spec, 50)) == (cfg, None)


def test_auto_and_the_config_it_resolves_to_are_the_same_run():
    cfg, _ = auto_model(load_config(None, ["data.name=wine"]))
    concrete = replace(load_config(None, ["data.name=wine"]),
                       ["model.name=mlp", "task.name=classification",
                        *(f"{k}={v}" for k, v in SMALL_TABULAR.items())])
    assert run_name(cfg) == run_name(concrete)
    assert run_name(cfg).startswith("wine-mlp-")


def test_digits_default_is_still_the_cnn():
    cfg, _ = auto_model(load_config())
    assert cfg.model.name == "cnn"
    assert run_name(cfg) == run_name(load_config(None, ["model.name=cnn",
                                                         "task.name=classification"]))


def test_build_model_resolves_auto_itself(image_spec, tabular_spec):
    assert build_model(load_config().model, image_spec).name == "cnn"
    assert build_model(load_config().model, tabular_spec).name == "mlp"


def test_doctor_says_what_auto_chose_and_then_checks_the_resolved_config():
    findings = doctor(load_config(None, ["data.name=iris"]))
    assert findings[0][1].startswith("model.name=auto chose mlp (tabular data with ")
    batch = f"batch {SMALL_TABULAR['data.batch_size']} per replica"
    assert any(batch in text for _, text in findings)
