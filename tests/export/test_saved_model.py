"""Tests of the SavedModel export: versions, signature, atomicity, mixed precision."""

from __future__ import annotations

import subprocess

import keras
import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf import config
from bigmodel_tf.data import ArraySplit
from bigmodel_tf.export import saved_model
from bigmodel_tf.export.saved_model import (
    export,
    export_serving_model,
    signature_info,
)
from bigmodel_tf.export.warmup import ASSETS_EXTRA, WARMUP_FILE, read_warmup_file
from bigmodel_tf.io import next_version


def test_next_version_counts_integer_folders_only(tmp_path):
    assert next_version(tmp_path / "missing") == 1
    assert next_version(tmp_path) == 1
    for name in ("1", "3", "notes", "0x5", ".tmp-1-abc", "２"):
        (tmp_path / name).mkdir()
    assert next_version(tmp_path) == 4


def test_versions_count_up_and_never_overwrite(tmp_path, image_spec, make_model):
    model = make_model(image_spec)
    first = export_serving_model(model, image_spec, tmp_path, "digits_cnn")
    assert first == tmp_path / "digits_cnn" / "1"
    marker = first / "marker.txt"
    marker.write_text("keep me")
    before = (first / "saved_model.pb").read_bytes()
    (tmp_path / "digits_cnn" / "notes").mkdir()  # not a version: ignored

    second = export_serving_model(model, image_spec, tmp_path, "digits_cnn")

    assert second == tmp_path / "digits_cnn" / "2"
    assert marker.read_text() == "keep me"
    assert (first / "saved_model.pb").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "digits_cnn").iterdir()) == ["1", "2", "notes"]


@pytest.mark.parametrize("spec_name", ["image_spec", "tabular_spec"])
def test_signature_matches_model(request, tmp_path, spec_name, make_model, make_inputs):
    spec = request.getfixturevalue(spec_name)
    model = make_model(spec)
    path = export_serving_model(model, spec, tmp_path, "m")
    x = make_inputs(spec, 7)

    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = signature(**{spec.input_name: tf.constant(x)})

    assert set(out) == {"probabilities", "class_id"}
    assert out["probabilities"].dtype == tf.float32
    assert out["class_id"].dtype == tf.int64
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(out["class_id"].numpy(), expected.argmax(axis=-1))


@pytest.mark.parametrize("spec_name", ["image_spec", "tabular_spec"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e38])
def test_a_row_with_a_non_finite_value_gets_no_class(
    request, tmp_path, spec_name, bad, make_model, make_inputs
):
    """NaN/inf inputs (or a huge one that overflows) give class -1 and NaN probabilities;
    the other rows of the batch are served as before."""
    spec = request.getfixturevalue(spec_name)
    model = make_model(spec)
    if bad == 1e38:  # weights large enough that a huge input overflows the logits
        model.layers[-1].kernel.assign(np.full(model.layers[-1].kernel.shape, 1e3, "float32"))
    x = make_inputs(spec, 3)
    x.reshape(3, -1)[1, 0] = bad
    path = export_serving_model(model, spec, tmp_path, "m")

    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = signature(**{spec.input_name: tf.constant(x)})

    probabilities, class_id = out["probabilities"].numpy(), out["class_id"].numpy()
    assert class_id[1] == -1 and np.isnan(probabilities[1]).all()
    expected = model.predict(x[[0, 2]], verbose=0)
    np.testing.assert_allclose(probabilities[[0, 2]], expected, rtol=1e-6)
    np.testing.assert_array_equal(class_id[[0, 2]], expected.argmax(axis=1))


def test_signature_info_describes_the_contract(tmp_path, tabular_spec, make_model):
    path = export_serving_model(make_model(tabular_spec), tabular_spec, tmp_path, "m")
    assert signature_info(path) == {
        "inputs": {"features": {"dtype": "float32", "shape": [-1, 5]}},
        "outputs": {
            "class_id": {"dtype": "int64", "shape": [-1]},
            "probabilities": {"dtype": "float32", "shape": [-1, 3]},
        },
    }
    with pytest.raises(KeyError, match="no signature 'serve'"):
        signature_info(path, "serve")


@pytest.mark.slow  # a subprocess that imports TensorFlow: 5-12 s here
def test_saved_model_cli_lists_the_signature(tmp_path, image_spec, make_model):
    path = export_serving_model(make_model(image_spec), image_spec, tmp_path, "m")
    shown = subprocess.run(
        ["saved_model_cli", "show", "--dir", str(path), "--all"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "signature_def['serving_default']" in shown
    assert "inputs['image']" in shown
    assert "outputs['probabilities']" in shown
    assert "outputs['class_id']" in shown
    assert "shape: (-1, 8, 8, 1)" in shown


def test_failure_mid_export_leaves_nothing_behind(
    tmp_path, monkeypatch, image_spec, make_model, make_inputs
):
    model = make_model(image_spec)
    export_serving_model(model, image_spec, tmp_path, "m")

    def broken_writer(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(saved_model, "write_warmup_file", broken_writer)
    with pytest.raises(RuntimeError, match="disk full"):
        export_serving_model(model, image_spec, tmp_path, "m", make_inputs(image_spec, 2))

    assert [p.name for p in (tmp_path / "m").iterdir()] == ["1"]


def test_bad_warmup_shape_fails_before_any_version(tmp_path, image_spec, make_model):
    with pytest.raises(ValueError, match=r"expected shape \[n, 8, 8, 1\]"):
        export_serving_model(
            make_model(image_spec), image_spec, tmp_path, "m", np.zeros((2, 8, 8), np.float32)
        )
    assert list((tmp_path / "m").iterdir()) == []


@pytest.fixture
def bfloat16_policy():
    """Build models under mixed_bfloat16; always restore float32 afterwards."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_mixed_precision_model_exports_float32(
    tmp_path, bfloat16_policy, tabular_spec, make_inputs
):
    inputs = keras.Input(tabular_spec.input_shape, name="features")
    x = keras.layers.Normalization(mean=tabular_spec.mean, variance=tabular_spec.variance)(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs)
    assert model.output.dtype == "bfloat16"  # the cast in the signature is really needed
    x = make_inputs(tabular_spec, 6)

    path = export_serving_model(model, tabular_spec, tmp_path, "m", x[:2])

    info = signature_info(path)
    assert info["inputs"]["features"]["dtype"] == "float32"
    assert info["outputs"]["probabilities"]["dtype"] == "float32"
    out = tf.saved_model.load(str(path)).signatures["serving_default"](features=tf.constant(x))
    assert out["probabilities"].dtype == tf.float32
    expected = np.asarray(model.predict(x, verbose=0), dtype=np.float32)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-2)


def test_export_stage_entry(tmp_path, image_spec, make_model, make_inputs):
    model = make_model(image_spec)
    examples = make_inputs(image_spec, 10)
    cfg = config.from_dict({"model": {"name": "cnn"},
                           "export": {"dir": str(tmp_path), "warmup_examples": 3}})

    test = ArraySplit(examples, np.zeros(len(examples), np.int32))
    path = export(cfg, tmp_path / "run", model, image_spec, test)

    assert path == tmp_path / "digits_cnn" / "1"
    assert len(read_warmup_file(path / ASSETS_EXTRA / WARMUP_FILE)) == 3
    disabled = config.replace(cfg, ["export.enabled=false"])
    assert export(disabled, tmp_path / "run", model, image_spec, test) is None
    assert [p.name for p in (tmp_path / "digits_cnn").iterdir()] == ["1"]
