"""A CSV model's export takes raw rows: one named input per column, categories as strings.

The CSV has a categorical column and column names a tensor name cannot hold (a space, a
slash). The SavedModel's signature is called with the tensors a TF Serving REST body
decodes to and with the client's gRPC request, and must give the Keras model's outputs on
the encoded rows csv_source made; an unseen category still gets a prediction.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from bigmodel_tf.benchmarks.tabular import write_wine_csv
from bigmodel_tf.config import ModelConfig, load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.columns import column_encoder, decode_rows, raw_columns, raw_input_model
from bigmodel_tf.data.csv_source import load_csv
from bigmodel_tf.export import client
from bigmodel_tf.export.saved_model import export_serving_model, signature_info
from bigmodel_tf.export.warmup import ASSETS_EXTRA, WARMUP_FILE, read_warmup_file
from bigmodel_tf.loading import load_keras_model
from bigmodel_tf.manifest import read_manifest
from bigmodel_tf.models import build_model

HEADER = ["mean radius", "colour", "od/ratio", "label"]
COLOURS = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def csv_export(tmp_path_factory):
    """A 60-row CSV, its config, the zoo's MLP on its spec (seeded, untrained: the test is
    of the encoding) and the model's export with 4 warm-up rows."""
    root = tmp_path_factory.mktemp("raw")
    rng = np.random.default_rng(0)
    path = root / "data.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(60):
            writer.writerow([f"{rng.normal(10, 3):.3f}", COLOURS[i % 3],
                             f"{rng.uniform(0, 2):.4f}", "yes" if i % 2 else "no"])
    cfg = load_config(overrides=["data.name=csv", f"data.path={path}", "data.label=label"])
    splits = load_splits(cfg)
    keras.utils.set_random_seed(0)
    model = build_model(ModelConfig(name="mlp", width=16), splits.spec)
    version = export_serving_model(model, splits.spec, root / "exports", "m",
                                   splits.test.head(4)[0], "hash")
    rows = list(csv.DictReader(path.open()))
    encoded = load_csv(cfg.data).whole.load()[0]  # every row, as the model was fed
    return splits.spec, model, version, rows, encoded


def _signature(version):
    return tf.saved_model.load(str(version)).signatures["serving_default"]


def _rest_decoded(body: dict, version) -> dict[str, tf.Tensor]:
    """The tensors TF Serving decodes a row-format REST body into (after a JSON round trip):
    each named input's values stacked, in the signature's dtype."""
    body = json.loads(json.dumps(body))
    dtypes = {k: v["dtype"] for k, v in signature_info(version)["inputs"].items()}
    return {name: tf.constant([row[name] for row in body["instances"]], dtype)
            for name, dtype in dtypes.items()}


def _raw_rows(rows: list[dict], spec) -> list[dict]:
    """CSV rows as a client sends them: input names, strings for categories, numbers else."""
    return [{c.key: row[c.name] if c.vocabulary else float(row[c.name])
             for c in raw_columns(spec)} for row in rows]


def test_signature_takes_one_named_input_per_column(csv_export):
    spec, _, version, _, _ = csv_export
    inputs = signature_info(version)["inputs"]
    assert inputs == {"mean_radius": {"dtype": "float32", "shape": [-1]},
                      "colour": {"dtype": "string", "shape": [-1]},
                      "od_ratio": {"dtype": "float32", "shape": [-1]}}
    assert read_manifest(version)["serving"]["inputs"] == {
        "mean_radius": "mean radius", "colour": "colour", "od_ratio": "od/ratio"}


def test_rest_rows_give_the_keras_predictions(csv_export):
    """Raw rows in the REST request format (JSON, strings) -> the Keras model's outputs."""
    spec, model, version, rows, encoded = csv_export
    body = client.rest_predict_body(_raw_rows(rows, spec))
    assert body["instances"][0]["colour"] == "red"
    out = _signature(version)(**_rest_decoded(body, version))
    expected = model.predict(encoded, verbose=0)
    diff = float(np.max(np.abs(out["probabilities"].numpy() - expected)))
    print(f"raw-row REST vs Keras on encoded rows: max abs diff {diff:.2e} over {len(rows)} rows")
    assert diff <= 1e-6
    np.testing.assert_array_equal(out["class_id"].numpy(), expected.argmax(axis=1))


def test_grpc_request_of_raw_rows_gives_the_keras_predictions(csv_export):
    spec, model, version, rows, encoded = csv_export
    request = client.grpc_predict_request(_raw_rows(rows[:10], spec), "m")
    assert request.inputs["colour"].dtype == types_pb2.DT_STRING
    assert request.inputs["mean_radius"].dtype == types_pb2.DT_FLOAT
    tensors = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
    out = _signature(version)(**tensors)
    np.testing.assert_allclose(out["probabilities"].numpy(),
                               model.predict(encoded[:10], verbose=0), atol=1e-6)


def test_an_unseen_category_gets_a_prediction(csv_export):
    """A colour the file never had goes to the lookup's OOV slot: an all-zero block."""
    spec, model, version, rows, encoded = csv_export
    raw = _raw_rows(rows[:3], spec)
    for row in raw:
        row["colour"] = "purple"
    out = _signature(version)(**_rest_decoded(client.rest_predict_body(raw), version))
    zero_block = np.array(encoded[:3])
    zero_block[:, 1:4] = 0.0  # mean radius, colour=blue/green/red, od/ratio
    np.testing.assert_allclose(out["probabilities"].numpy(),
                               model.predict(zero_block, verbose=0), atol=1e-6)
    assert (out["class_id"].numpy() >= 0).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_number_gets_no_class(csv_export, bad):
    spec, _, version, rows, _ = csv_export
    raw = _raw_rows(rows[:3], spec)
    raw[1]["od_ratio"] = bad
    tensors = {k: tf.constant(v) for k, v in client.named_inputs(raw).items()}
    out = _signature(version)(**tensors)
    assert out["class_id"].numpy().tolist()[1] == -1
    assert np.isnan(out["probabilities"].numpy()[1]).all()
    assert np.isfinite(out["probabilities"].numpy()[[0, 2]]).all()


def test_warmup_records_carry_raw_rows(csv_export):
    spec, _, version, _, _ = csv_export
    records = read_warmup_file(version / ASSETS_EXTRA / WARMUP_FILE)
    assert len(records) == 4
    signature = _signature(version)
    for record in records:
        inputs = record.predict_log.request.inputs
        assert set(inputs) == {"mean_radius", "colour", "od_ratio"}
        assert inputs["colour"].dtype == types_pb2.DT_STRING
        tensors = {k: tf.constant(tf.make_ndarray(v)) for k, v in inputs.items()}
        assert signature(**tensors)["class_id"].shape == (1,)


def test_encoder_reproduces_the_csv_encoding(csv_export):
    """column_encoder on the decoded rows is exactly csv_source's one-hot vector."""
    spec, _, _, _, encoded = csv_export
    decoded = decode_rows(encoded, spec)
    assert decoded["colour"][:3].tolist() == ["red", "green", "blue"]
    np.testing.assert_array_equal(np.asarray(column_encoder(spec, keras)(decoded)), encoded)


def test_raw_input_model_saves_and_loads_safely(csv_export, tmp_path):
    spec, model, _, _, encoded = csv_export
    raw_model = raw_input_model(model, spec, keras)
    raw_model.save(tmp_path / "raw.keras")
    reloaded = load_keras_model(tmp_path / "raw.keras", verify=False)
    decoded = decode_rows(encoded[:5], spec)
    np.testing.assert_allclose(np.asarray(reloaded(decoded)),
                               model.predict(encoded[:5], verbose=0), atol=1e-6)


def test_client_command_line_reads_json_rows(tmp_path, capsys):
    rows = [{"colour": "red", "mean_radius": 1.5}]
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    assert client.load_batch(str(path)) == rows
    path.write_text('{"colour": "red"}')
    assert client.main(["--model", "m", "--input", str(path)]) == 2
    assert "expected a JSON list of {column: value} rows" in capsys.readouterr().err
    with pytest.raises(Exception, match="row 1: has columns"):
        client.named_inputs([{"a": 1.0}, {"b": 2.0}])


def test_readme_rest_rows_fit_the_wine_csv_signature(tmp_path):
    """The README's CSV REST body names every column of the wine CSV, typed as its inputs."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    body = json.loads(re.findall(r"-d '(.*?)'", readme, re.DOTALL)[1])
    cfg = load_config(overrides=["data.name=csv", "data.label=variety",
                                 f"data.path={write_wine_csv(tmp_path / 'wine.csv')}"])
    spec = load_splits(cfg).spec
    columns = raw_columns(spec)
    assert [set(row) for row in body["instances"]] == [{c.key for c in columns}]
    typed = {c.key: (str if c.vocabulary else (int, float)) for c in columns}
    assert all(isinstance(v, typed[k]) for k, v in body["instances"][0].items())
    features = np.asarray(column_encoder(spec, keras)(client.named_inputs(body["instances"])))
    assert features.shape == (1, *spec.input_shape) and np.isfinite(features).all()
