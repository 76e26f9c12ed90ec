"""A saved model.keras loads with plain ``keras.saving.load_model`` in a fresh interpreter.

Keras 3 imports the module of a serialized class only for its own packages (keras,
keras_hub, ...), so a class of this package must be registered first: the transformer's
``LearnedEmbedding`` needs ``import bigmodel_tf.models`` (the README says so); a model
of built-in layers only (the MLP) needs nothing.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.models import build_model

SPEC = DataSpec("tabular", [4], ["a", "b", "c"], feature_names=["w", "x", "y", "z"],
                mean=[0.0, 1.0, 2.0, 3.0], variance=[1.0, 4.0, 1.0, 9.0])
FRESH = """
import sys
import keras
import numpy as np

x = np.load(sys.argv[1])
def load(name):
    return np.asarray(keras.saving.load_model(f"{sys.argv[2]}/{name}.keras")(x))
np.save(f"{sys.argv[2]}/mlp.npy", load("mlp"))  # built-in layers: no import needed
try:
    load("transformer")
    print("transformer loaded without the import")
except TypeError as exc:
    print("without the import:", str(exc)[:90])
import bigmodel_tf.models  # registers the zoo's layers
np.save(f"{sys.argv[2]}/transformer.npy", load("transformer"))
"""


@pytest.mark.slow  # a subprocess that imports TensorFlow: 15-35 s here
def test_model_keras_loads_with_plain_keras(tmp_path):
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    expected = {}
    for name in ("mlp", "transformer"):
        model = build_model(ModelConfig(name=name, width=16, depth=1), SPEC)
        model.save(tmp_path / f"{name}.keras")
        expected[name] = np.asarray(model(x, training=False))
    proc = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path / "x.npy"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("without the import: <class 'keras.src.models.functional.Functional'> could "
            "not be deserialized") in proc.stdout
    for name, want in expected.items():
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.npy"), want, atol=1e-6)
