"""Tests of the TF Serving warm-up records written with an export."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from bigmodel_tf.export.saved_model import export_serving_model
from bigmodel_tf.export.warmup import (
    ASSETS_EXTRA,
    MAX_WARMUP_RECORDS,
    WARMUP_FILE,
    read_warmup_file,
    warmup_records,
)


@pytest.mark.parametrize("spec_name", ["image_spec", "tabular_spec"])
def test_warmup_file_holds_one_predict_request_per_example(
    request, tmp_path, spec_name, make_model, make_inputs
):
    spec = request.getfixturevalue(spec_name)
    examples = make_inputs(spec, 3)
    path = export_serving_model(make_model(spec), spec, tmp_path, "digits_cnn", examples)

    records = read_warmup_file(path / ASSETS_EXTRA / WARMUP_FILE)

    assert len(records) == 3
    for record, example in zip(records, examples, strict=True):
        req = record.predict_log.request
        assert req.model_spec.name == "digits_cnn"
        assert req.model_spec.signature_name == "serving_default"
        assert list(req.inputs) == [spec.input_name]
        tensor = req.inputs[spec.input_name]
        assert tensor.dtype == types_pb2.DT_FLOAT
        assert [d.size for d in tensor.tensor_shape.dim] == [1, *spec.input_shape]
        np.testing.assert_array_equal(tf.make_ndarray(tensor), example[np.newaxis])


def test_no_warmup_examples_means_no_warmup_file(tmp_path, tabular_spec, make_model):
    model = make_model(tabular_spec)
    for examples in (None, np.zeros((0, 5), np.float32)):
        path = export_serving_model(model, tabular_spec, tmp_path, "m", examples)
        assert (path / "saved_model.pb").is_file()
        assert not (path / ASSETS_EXTRA).exists()


def test_too_many_warmup_records_are_refused():
    with pytest.raises(ValueError, match=f"at most {MAX_WARMUP_RECORDS}"):
        warmup_records(np.zeros((MAX_WARMUP_RECORDS + 1, 1), np.float32), "m", "features")
