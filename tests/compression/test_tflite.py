"""TFLite conversion of every variant and its measurement in the LiteRT interpreter."""

import gzip

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from bigmodel_tf.compression import litert_eval
from bigmodel_tf.compression.tflite_convert import (
    _conversion_error,
    convert,
    write_saved_model,
)
from bigmodel_tf.config import TFLITE_VARIANTS, CompressionConfig
from bigmodel_tf.data import load_splits


def test_parity_numbers():
    """Top-1 match rate and max abs difference of two probability arrays."""
    reference = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.3, 0.7]], dtype=np.float32)
    result = litert_eval.parity(probs, reference)
    assert result["top1_match"] == 0.75
    assert result["max_abs_diff"] == pytest.approx(0.2)
    assert result["predicted_classes"] == result["reference_predicted_classes"] == 2


def test_quantize_round_trip():
    """Raw inputs quantized with a tensor's scale/zero point come back within one step."""
    detail = {"dtype": np.int8, "quantization": (0.1, -3)}
    x = np.linspace(-9.0, 9.0, 50, dtype=np.float32)
    back = litert_eval._dequantize(litert_eval._quantize(x, detail), detail)
    np.testing.assert_allclose(back, x, atol=0.05 + 1e-6)


def test_file_sizes(tmp_path):
    """Raw and gzip sizes of a file."""
    path = tmp_path / "zeros.bin"
    path.write_bytes(bytes(10_000))
    sizes = litert_eval.file_sizes(path)
    assert sizes["bytes"] == 10_000
    assert sizes["gzip_bytes"] == len(gzip.compress(bytes(10_000), compresslevel=9)) < 100


@pytest.fixture
def saved_cnn(tmp_path, make_cfg, small_model):
    """A small CNN with perturbed weights, its SavedModel, test arrays and its predictions."""
    cfg = make_cfg("model.width=8")
    model, spec, _ = small_model(cfg)
    test = load_splits(cfg).test
    write_saved_model(model, spec, tmp_path / "saved")
    reference = model.predict(test.x, verbose=0)
    return model, tmp_path / "saved", test, reference, spec


@pytest.mark.parametrize(("variants", "int8_io"), [(TFLITE_VARIANTS, False), (["int8"], True)],
                         ids=["float_io", "int8_io"])
def test_every_variant_converts_loads_and_agrees(saved_cnn, tmp_path, variants, int8_io):
    """Each variant runs in LiteRT on the test split and agrees with the Keras model."""
    model, saved, test, reference, spec = saved_cnn
    c = CompressionConfig(int8_io=int8_io, latency_runs=5, throughput_batch=32)
    examples = test.x[:50]
    names = [layer.name for layer in model.layers]
    for variant in variants:
        path = tmp_path / f"{variant}.tflite"
        path.write_bytes(convert(saved, variant, c, examples, names))
        entry = litert_eval.measure(path, test.x, test.y, reference, c, spec)
        assert entry["test"]["examples"] == len(test.y)
        assert entry["latency_ms"] > 0 and entry["throughput_examples_per_sec"] > 0
        assert entry["parity"]["top1_match"] >= 0.9, (variant, entry["parity"])
        if variant == "float32":
            assert entry["parity"]["max_abs_diff"] < 1e-5
        quantized_io = int8_io and variant == "int8"
        assert entry["input"]["dtype"] == ("int8" if quantized_io else "float32")
        runner = Interpreter(model_path=str(path))
        assert runner.get_output_details()[0]["shape"][-1] == reference.shape[1]


def test_converter_failure_names_the_layer_and_the_way_out():
    """A converter message mentioning a layer becomes one clear CompressionError."""
    exc = RuntimeError("loc(\"cnn/conv_1/Conv2D@__inference\"): error: 'tfl.conv_2d' op "
                       "quantization parameters violate the int8 constraint\nsecond line")
    error = _conversion_error(exc, "int8", ["conv_0", "conv_1", "logits"])
    message = str(error)
    assert "TFLite variant int8" in message and "at layer conv_1" in message
    assert "conv_0" not in message
    assert "compression.int8_float_fallback=true" in message
    assert "\n" not in message
