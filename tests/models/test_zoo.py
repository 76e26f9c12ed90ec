"""Every zoo model: contract of inputs/outputs, and the shared harness (tests/models/harness.py):
Keras 3 <-> tf_keras parity and the safe .keras round trip."""

import typing

import numpy as np
import pytest

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.models import MODEL_NAMES, build_model
from tests.models.harness import check_zoo_model

# (model name, data kind, model.* overrides): every model on every kind it supports, plus
# variants covering the other normalization, regularizer and activation options.
CASES = [
    ("mlp", "image", {}),
    ("mlp", "tabular", {"normalization": "layer", "l1": 1e-5, "l2": 1e-4}),
    ("mlp", "tabular", {"depth": 0}),
    ("cnn", "image", {}),
    ("cnn", "image", {"depth": 3, "normalization": "layer", "activation": "gelu", "l2": 1e-4}),
    ("resnet", "image", {}),
    ("resnet", "image", {"depth": 4, "normalization": "none", "activation": "swish"}),
    ("mobilenetv2", "image", {"alpha": 0.35}),
    ("transformer", "image", {}),
    ("transformer", "tabular", {"activation": "gelu"}),
    ("transformer", "image", {"share_weights": True, "depth": 3, "l2": 1e-4}),
]
IDS = ["-".join([name, kind, *(f"{k}={v}" for k, v in over.items())]) for name, kind, over in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def case(request, make_cfg, image_spec, tabular_spec):
    """(model section, spec) of one zoo case, at a tiny width (16) unless the case sets one."""
    name, kind, overrides = request.param
    spec = image_spec if kind == "image" else tabular_spec
    return make_cfg(name=name, **{"width": 16, **overrides}), spec


def test_model_names_match_config():
    """The dispatcher knows every built-in model the config accepts (after auto), in order."""
    assert typing.get_args(typing.get_type_hints(ModelConfig)["name"]) == ("auto", *MODEL_NAMES)


def test_contract(case, raw_inputs):
    """Raw float32 named input, uncompiled, float32 ``probabilities`` that sum to one."""
    cfg, spec = case
    model = build_model(cfg, spec)
    assert model.input.name == spec.input_name
    assert tuple(model.input.shape[1:]) == tuple(spec.input_shape)
    assert model.input.dtype == "float32"
    assert not model.compiled
    assert model.layers[-1].name == "probabilities"
    assert model.output.shape[-1] == spec.num_classes
    probs = np.asarray(model(raw_inputs(spec), training=False))
    assert probs.dtype == np.float32 and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-5)
    assert bool(model.losses) == (cfg.l1 > 0 or cfg.l2 > 0)


def test_plain_call_is_inference(case, raw_inputs):
    """model(x) without ``training`` is inference: same as training=False, no state update."""
    cfg, spec = case
    model = build_model(cfg, spec)
    x = raw_inputs(spec)
    before = model.get_weights()
    default = np.asarray(model(x))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    np.testing.assert_array_equal(default, np.asarray(model(x, training=False)))


def test_zoo_harness(case, raw_inputs, tmp_path):
    """Keras 3 <-> tf_keras parity with copied weights, and the safe .keras round trip."""
    cfg, spec = case
    check_zoo_model(cfg, spec, raw_inputs(spec), tmp_path)


@pytest.mark.parametrize(
    ("name", "kind"),
    [(name, "image") for name in MODEL_NAMES] + [("mlp", "tabular"), ("transformer", "tabular")],
)
def test_mixed_bfloat16_output_is_float32(
    name, kind, make_cfg, image_spec, tabular_spec, raw_inputs, bfloat16_policy
):
    """Under mixed_bfloat16 the body computes in bf16 but the output stays float32."""
    spec = image_spec if kind == "image" else tabular_spec
    model = build_model(make_cfg(name=name, alpha=0.35), spec)
    assert model.get_layer("logits").compute_dtype == "bfloat16"
    assert model.output.dtype == "float32"
    assert np.asarray(model(raw_inputs(spec), training=False)).dtype == np.float32
