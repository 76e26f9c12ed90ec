"""Tests of the TF Serving client against local stand-ins that serve a real export.

The stand-ins answer like TF Serving (REST row format, gRPC PredictResponse) by running
the exported ``serving_default`` signature, so a test covers export -> request -> answer.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from bigmodel_tf.errors import UserError
from bigmodel_tf.export import client
from bigmodel_tf.export.saved_model import export_serving_model

MODEL = "digits_cnn"


@pytest.fixture(scope="module")
def served(tmp_path_factory, image_spec, make_model):
    """An exported digits-like model: (keras model, loaded serving signature)."""
    model = make_model(image_spec)
    path = export_serving_model(model, image_spec, tmp_path_factory.mktemp("export"), MODEL)
    return model, tf.saved_model.load(str(path)).signatures["serving_default"]


def _free_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def rest_port(served):
    """A local http.server answering /v1/models/digits_cnn:predict like TF Serving."""
    _, signature = served

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            match = re.fullmatch(r"/v1/models/([^/:]+)(/versions/\d+)?:predict", self.path)
            if not match or match[1] != MODEL:
                return self._reply(404, {"error": f"Servable not found for request: {self.path}"})
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body.get("signature_name") != "serving_default":
                return self._reply(400, {"error": "bad signature"})
            out = signature(image=tf.constant(body["instances"], tf.float32))
            rows = [
                {"probabilities": p.tolist(), "class_id": int(c)}
                for p, c in zip(out["probabilities"].numpy(), out["class_id"].numpy(), strict=True)
            ]
            return self._reply(200, {"predictions": rows})

        def _reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def grpc_port(served):
    """A local gRPC PredictionService answering Predict like TF Serving."""
    _, signature = served

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            if request.model_spec.name != MODEL:
                context.abort(grpc.StatusCode.NOT_FOUND, "Servable not found")
            out = signature(image=tf.constant(tf.make_ndarray(request.inputs["image"])))
            response = predict_pb2.PredictResponse()
            response.model_spec.CopyFrom(request.model_spec)
            for key, value in out.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(None)


@pytest.fixture
def digits(image_spec, make_inputs):
    """Four raw digits-like images, values 0..16."""
    return make_inputs(image_spec, 4)


def test_rest_predict_url():
    assert (
        client.rest_predict_url("localhost", 8501, MODEL)
        == "http://localhost:8501/v1/models/digits_cnn:predict"
    )
    assert (
        client.rest_predict_url("10.0.0.2", 9000, MODEL, version=3)
        == "http://10.0.0.2:9000/v1/models/digits_cnn/versions/3:predict"
    )


def test_rest_predict_body(digits):
    body = client.rest_predict_body(digits)
    assert body["signature_name"] == "serving_default"
    assert np.asarray(body["instances"]).shape == (4, 8, 8, 1)
    np.testing.assert_array_equal(np.asarray(body["instances"], np.float32), digits)
    json.dumps(body)  # plain JSON, no numpy types left
    assert client.rest_predict_body(digits, "other")["signature_name"] == "other"


def test_grpc_predict_request(digits):
    request = client.grpc_predict_request(digits, MODEL, "image", version=2)
    assert request.model_spec.name == MODEL
    assert request.model_spec.signature_name == "serving_default"
    assert request.model_spec.version.value == 2
    tensor = request.inputs["image"]
    assert tensor.dtype == types_pb2.DT_FLOAT
    assert [d.size for d in tensor.tensor_shape.dim] == [4, 8, 8, 1]
    np.testing.assert_array_equal(tf.make_ndarray(tensor), digits)
    assert not client.grpc_predict_request(digits, MODEL, "image").model_spec.HasField("version")


def test_predict_rest_against_local_server(served, rest_port, digits):
    model, _ = served
    result = client.predict_rest("127.0.0.1", rest_port, MODEL, digits)
    expected = model.predict(digits, verbose=0)
    assert result["probabilities"].dtype == np.float32
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-5)
    np.testing.assert_array_equal(result["class_id"], expected.argmax(axis=-1))


def test_predict_grpc_against_local_server(served, grpc_port, digits):
    model, _ = served
    request = client.grpc_predict_request(digits, MODEL, "image")
    result = client.predict_grpc("127.0.0.1", grpc_port, request)
    expected = model.predict(digits, verbose=0)
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-5)
    np.testing.assert_array_equal(result["class_id"], expected.argmax(axis=-1))


def test_server_errors_become_one_line_user_errors(rest_port, grpc_port, digits):
    with pytest.raises(UserError, match="HTTP 404.*Servable not found"):
        client.predict_rest("127.0.0.1", rest_port, "nope", digits)
    with pytest.raises(UserError, match="cannot reach TF Serving"):
        client.predict_rest("127.0.0.1", _free_port(), MODEL, digits, timeout=2)
    request = client.grpc_predict_request(digits, "nope", "image")
    with pytest.raises(UserError, match="NOT_FOUND"):
        client.predict_grpc("127.0.0.1", grpc_port, request)
    with pytest.raises(UserError, match="error: bad"):
        client.parse_rest_predictions({"error": "bad"})


def test_command_line(tmp_path, capsys, served, rest_port, grpc_port, digits):
    model, _ = served
    batch = tmp_path / "batch.npy"
    np.save(batch, digits)
    expected = model.predict(digits, verbose=0).argmax(axis=-1).tolist()
    common = ["--host", "127.0.0.1", "--model", MODEL, "--input", str(batch)]

    assert client.main([*common, "--port", str(rest_port)]) == 0
    assert json.loads(capsys.readouterr().out)["class_id"] == expected
    assert client.main([*common, "--port", str(grpc_port), "--grpc"]) == 0
    assert json.loads(capsys.readouterr().out)["class_id"] == expected

    missing = ["--model", MODEL, "--input", str(tmp_path / "missing.npy")]
    assert client.main(missing) == 2
    assert "missing.npy: file not found" in capsys.readouterr().err
