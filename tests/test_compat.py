"""The private-API workarounds live in bigmodel_tf/compat.py only, and still work."""

import ast
from pathlib import Path

import keras
import numpy as np

from bigmodel_tf import compat

PACKAGE = Path(__file__).parents[1] / "bigmodel_tf"
PRIVATE_MODULES = ("keras.src", "tensorflow.python", "keras_tuner.src", "tf_keras.src")


def _imported_modules(path: Path) -> list[str]:
    """Every module an ``import`` or ``from ... import`` statement of ``path`` names."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_no_module_but_compat_imports_private_library_modules():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "compat.py"
        for name in _imported_modules(path)
        if any(name == m or name.startswith(f"{m}.") for m in PRIVATE_MODULES)
    ]
    assert offenders == []


def test_compat_itself_is_seen_by_the_scan():
    """The scan finds the private imports compat.py does make (so it is not vacuous)."""
    assert "keras.src.saving" in _imported_modules(PACKAGE / "compat.py")


def test_warm_keras_saving_fills_the_key_keras_reads():
    from keras.src.backend.common import global_state

    compat.warm_keras_saving()
    assert global_state.get_global_attribute("saving_attr_skiplist_Layer") is not None


def test_ema_pairs_follow_the_trainable_variables():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(use_ema=True), loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    pairs = compat.ema_pairs(model.optimizer)
    assert [v.path for v, _ in pairs] == [v.path for v in model.trainable_variables]
    assert all(v.shape == average.shape for v, average in pairs)


def test_initial_epoch_round_trip():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    compat.set_initial_epoch(model, 3)
    assert compat.initial_epoch(model) == 3
    compat.set_initial_epoch(model, None)
    assert compat.initial_epoch(model) == 0


def test_gradient_registry_is_tensorflows():
    assert "MatMul" in compat.gradient_registry()
