"""Each config field's declared effect, and the key sets derived from it: the config hash,
a run directory's resume check, the split cache key and a search's resume check."""

import dataclasses
import typing

import pytest

from bigmodel_tf.config import (
    EFFECTS,
    ExperimentConfig,
    config_hash,
    differences,
    effect_of,
    keys_with,
    load_config,
    save_config,
    select,
    to_dict,
    with_changes,
)
from bigmodel_tf.errors import RunDirError
from bigmodel_tf.training.run_dir import run_state


def _leaf_fields(cls=ExperimentConfig, prefix=""):
    """(dotted key, owning class, field) of every non-section field, recursively."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _leaf_fields(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", cls, f


def test_every_field_declares_an_effect():
    for key, cls, f in _leaf_fields():
        declared = f.metadata.get("effect", getattr(cls, "default_effect", None))
        assert declared in EFFECTS, key
        assert effect_of(key) == declared
    assert set().union(*(keys_with(e) for e in EFFECTS)) == {k for k, _, _ in _leaf_fields()}


@pytest.mark.parametrize("kind, keys", [
    ("data", ["seed", "data.name", "data.path", "data.val_fraction", "data.skip_corrupt",
              "data.synthetic.num_examples", "data.cv_fold", "data.train_fraction"]),
    ("result", ["data.batch_size", "data.shuffle_buffer", "data.deterministic",
                "data.augment.flip", "data.imbalance.resample", "model.width", "task.loss",
                "train.learning_rate", "runtime.mixed_precision", "runtime.deterministic"]),
    ("evaluation", ["evaluation.baselines", "evaluation.target_recall", "train.cv_folds"]),
    ("pipeline", ["data.cache", "data.cache_dir", "data.num_parallel_calls", "data.prefetch",
                  "data.shards", "train.verbose"]),
    ("search", ["tune.algorithm", "tune.space", "tune.max_epochs"]),
    ("none", ["run_name", "export.dir", "benchmark.repeats", "compression.prune",
              "tune.max_trials"]),
])
def test_derived_key_sets(kind, keys):
    assert set(keys) <= keys_with(kind)
    assert not set(keys) & keys_with(*(e for e in EFFECTS if e != kind))


def test_a_key_inside_a_mapping_field_has_the_fields_effect():
    assert effect_of("tune.space.model.width.max") == "search"
    assert effect_of("no_such.key") is None


def test_pipeline_keys_keep_the_hash_result_keys_change_it():
    cfg = load_config()
    same = with_changes(cfg, {"data.prefetch": 2, "data.cache": "none", "train.verbose": 0,
                              "run_name": "x", "tune.max_trials": 3, "compression.qat": True})
    assert config_hash(same) == config_hash(cfg)
    for changes in ({"model.width": 32}, {"data.batch_size": 32}, {"seed": 1},
                    {"evaluation.interpret": False}):
        assert config_hash(with_changes(cfg, changes)) != config_hash(cfg), changes


def test_select_keeps_only_the_keys_nested():
    picked = select(to_dict(load_config()), keys_with("data"))
    assert set(picked) == {"seed", "data", "task"}  # task.name: how a CSV label is read
    assert "batch_size" not in picked["data"] and picked["data"]["synthetic"]["num_classes"] == 3


def test_differences_leave_out_the_ignored_effects_but_never_unknown_keys():
    saved = {**to_dict(load_config()), "versions": {"keras": "0"}, "legacy": 1}
    current = to_dict(with_changes(load_config(), {"data.prefetch": 3, "model.depth": 3}))
    assert differences(saved, current, ignore=("pipeline",)) == [
        "legacy: 1 -> None", "model.depth: 2 -> 3"]


@pytest.fixture
def saved_run(tmp_path):
    """A run directory holding the default config (run_state reads only config.yaml)."""
    save_config(load_config(), tmp_path / "config.yaml")
    return tmp_path


def test_a_pipeline_change_resumes_the_run(saved_run):
    cfg = with_changes(load_config(), {"data.num_parallel_calls": 2, "train.verbose": 0,
                                       "export.enabled": False, "tune.algorithm": "grid"})
    assert run_state(cfg, saved_run) == "resume"
    (saved_run / "metrics.json").write_text("{}")
    assert run_state(cfg, saved_run) == "finished"


@pytest.mark.parametrize("changes", [{"data.val_fraction": 0.2}, {"train.epochs": 3},
                                     {"evaluation.calibration_bins": 5}])
def test_a_data_result_or_evaluation_change_is_refused(saved_run, changes):
    key = next(iter(changes))
    with pytest.raises(RunDirError, match=f"different config.*{key}"):
        run_state(with_changes(load_config(), changes), saved_run)
