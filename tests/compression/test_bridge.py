"""The Keras 3 <-> tf_keras bridge: TF-MOT import hygiene, exact round trips, float32 copies."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tf_keras

from bigmodel_tf.compression.bridge import check_same_outputs, float32_copy, to_tf_keras
from bigmodel_tf.errors import CompressionError


def test_tfmot_import_leaves_keras_3_and_the_environment_alone():
    """TF-MOT sets TF_USE_LEGACY_KERAS and can switch tf.keras; the bridge undoes both."""
    code = (
        "import os, tensorflow as tf\n"
        "from bigmodel_tf.compression.bridge import tfmot\n"
        "api = tfmot()\n"
        "print(os.environ.get('TF_USE_LEGACY_KERAS'), tf.keras.version(),\n"
        "      api.sparsity.keras.prune_low_magnitude.__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["None", keras.__version__, "prune_low_magnitude"]


@pytest.mark.parametrize("overrides", [
    ["model.name=cnn"],
    ["model.name=transformer", "model.depth=1", "model.width=16", "model.num_heads=2"],
], ids=["cnn", "transformer"])
def test_round_trip_keeps_weights_and_predictions(overrides, make_cfg, small_model):
    """Keras 3 -> tf_keras -> Keras 3 gives back the same weights and probabilities."""
    cfg = make_cfg(*overrides)
    model, spec, x = small_model(cfg)
    legacy = to_tf_keras(model, cfg.model, spec, x)
    assert isinstance(legacy, tf_keras.Model)
    back = float32_copy(legacy, cfg.model, spec, x)
    assert isinstance(back, keras.Model)
    for a, b in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_mixed_precision_model_is_copied_to_float32(make_cfg, small_model):
    """A model computing in bfloat16 is rebuilt under float32 with the same weights."""
    cfg = make_cfg("runtime.mixed_precision=mixed_bfloat16")
    keras.mixed_precision.set_global_policy("mixed_bfloat16")  # restored by tests/conftest
    model, spec, x = small_model(cfg)
    assert model.get_layer("conv_0").compute_dtype == "bfloat16"
    copy = float32_copy(model, cfg.model, spec, x)
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert {layer.compute_dtype for layer in copy.layers} == {"float32"}
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_model_of_another_config_is_refused(make_cfg, small_model):
    """Copying into a model built from a different config is a clear CompressionError."""
    model, spec, x = small_model(make_cfg())
    with pytest.raises(CompressionError, match="does not match the run's config"):
        to_tf_keras(model, make_cfg("model.width=8").model, spec, x)


def test_differing_outputs_are_detected(make_cfg, small_model):
    """check_same_outputs raises when a copy does not compute what its source computes."""
    cfg = make_cfg()
    model, spec, x = small_model(cfg)
    other = to_tf_keras(model, cfg.model, spec, x)
    other.set_weights([w * 1.5 for w in other.get_weights()])
    with pytest.raises(CompressionError, match="probabilities differ"):
        check_same_outputs(model, other, x, "copy")
