"""``model.name=auto``: the model (and, for small tabular data, the recipe) that fits the data.

Images get the ``cnn``, tabular data the ``mlp``. Tabular data with fewer than
``SMALL_TABULAR_MAX_TRAIN`` train examples also gets ``SMALL_TABULAR``, with which the
MLP matches the best tuned scikit-learn baseline on sets of a few hundred rows (measured
by the ``bigmodel benchmark`` suite ``tabular_defaults``, README Performance). Regression
data gets ``REGRESSION`` (measured on synthetic_regression, README Regression). The recipe
replaces only keys still at their defaults, so a key set to another value wins. The
resolved config (concrete name and values) is what a run saves and hashes: ``auto`` and
the config it resolves to are the same run.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from bigmodel_tf.config import ExperimentConfig, with_changes
from bigmodel_tf.data.spec import DataSpec

AUTO_MODELS = {"image": "cnn", "tabular": "mlp"}
# Below this many train examples, batches of 64 make an epoch a few steps: 30 epochs of
# them stopped the MLP before it converged (nearly every run on iris, wine and breast
# cancer used all 30). Batches of 16 and up to 150 epochs let early stopping end training instead.
SMALL_TABULAR_MAX_TRAIN = 1000
SMALL_TABULAR: dict[str, Any] = {
    "data.batch_size": 16,
    "train.epochs": 150,
    "train.early_stopping_patience": 20,
}
# Regression fits a smooth target: swish units without dropout or batch norm (both add
# noise to a real-valued output), a wider layer, batches of 32, the learning rate halved
# on plateaus and training until early stopping.
REGRESSION: dict[str, Any] = {
    "model.width": 128,
    "model.activation": "swish",
    "model.dropout": 0.0,
    "model.normalization": "none",
    "data.batch_size": 32,
    "train.epochs": 300,
    "train.reduce_on_plateau": True,
    "train.early_stopping_patience": 30,
}


def _value(tree: object, key: str) -> Any:
    """The value at a dotted attribute path of ``tree`` ("train.epochs" of a config)."""
    return reduce(getattr, key.split("."), tree)


def train_examples(spec: DataSpec) -> int | None:
    """Train examples of the data set (from the spec, or its train class counts), if known."""
    if spec.train_examples is not None:
        return spec.train_examples
    return sum(spec.class_counts.values()) if spec.class_counts else None


def choose(spec: DataSpec) -> tuple[str, dict[str, Any], str]:
    """The model auto picks for ``spec``: its name, the recipe's settings, and why."""
    name = AUTO_MODELS[spec.kind]
    examples = train_examples(spec)
    if spec.task == "regression" and spec.kind == "tabular":
        return name, REGRESSION, "tabular regression data: the regression recipe"
    if spec.kind == "tabular" and examples is not None and examples < SMALL_TABULAR_MAX_TRAIN:
        return name, SMALL_TABULAR, (
            f"tabular data with {examples} train examples, fewer than "
            f"{SMALL_TABULAR_MAX_TRAIN}: the small-tabular recipe")
    return name, {}, f"{spec.kind} data"


def resolve_model(cfg: ExperimentConfig, spec: DataSpec) -> tuple[ExperimentConfig, str | None]:
    """``cfg`` with ``model.name=auto`` made concrete for ``spec``, and the reason (or None).

    The recipe's settings replace only keys whose value is still the tool's default.
    """
    if cfg.model.name != "auto":
        return cfg, None
    name, recipe, reason = choose(spec)
    defaults = ExperimentConfig()
    changed = {key: value for key, value in recipe.items()
               if _value(cfg, key) == _value(defaults, key)}
    resolved = with_changes(cfg, {"model.name": name, **changed})
    settings = "".join(f" {k}={v}" for k, v in changed.items())
    return resolved, f"model.name=auto chose {name} ({reason}){settings}"

