"""Export stage: a small TF Serving client (REST and gRPC) for exported models.

Builds predict requests for the ``serving_default`` signature that ``saved_model`` writes
(one raw float32 input; outputs ``probabilities`` and ``class_id`` for classification,
``prediction`` for regression), sends them with the
standard library (REST) or ``grpc`` + ``tensorflow-serving-api`` (gRPC), and returns the
outputs as numpy arrays. For manual use:

    python -m bigmodel_tf.export.client --model digits_cnn --input batch.npy [--grpc]
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from bigmodel_tf.errors import UserError

SIGNATURE_NAME = "serving_default"
REST_PORT = 8501  # TF Serving's default REST port
GRPC_PORT = 8500  # TF Serving's default gRPC port


def rest_predict_url(host: str, port: int, model_name: str, version: int | None = None) -> str:
    """The REST predict URL of a model (latest version unless ``version`` is given)."""
    versioned = f"/versions/{version}" if version is not None else ""
    return f"http://{host}:{port}/v1/models/{model_name}{versioned}:predict"


def rest_predict_body(x: np.ndarray, signature_name: str = SIGNATURE_NAME) -> dict:
    """The JSON body of a REST predict request in row format (one instance per example)."""
    return {
        "signature_name": signature_name,
        "instances": np.asarray(x, dtype=np.float32).tolist(),
    }


INTEGER_OUTPUTS = ("class_id",)  # every other output of the signature is float32
SINGLE_OUTPUT = "prediction"  # the one output of a regression signature


def _output(name: str, values) -> np.ndarray:
    """One output of the signature as an array of its dtype."""
    return np.asarray(values, dtype=np.int64 if name in INTEGER_OUTPUTS else np.float32)


def parse_rest_predictions(payload: dict) -> dict[str, np.ndarray]:
    """Turn a row-format REST answer into ``{output name: array}`` (``probabilities`` and
    ``class_id``, or ``prediction``)."""
    if "error" in payload:
        raise UserError(f"TF Serving answered with an error: {payload['error']}")
    rows = payload["predictions"]
    if rows and not isinstance(rows[0], dict):  # one output: TF Serving omits its name
        rows = [{SINGLE_OUTPUT: row} for row in rows]
    return {name: _output(name, [row[name] for row in rows]) for name in (rows or [{}])[0]}


def predict_rest(
    host: str,
    port: int,
    model_name: str,
    x: np.ndarray,
    timeout: float = 10,
    version: int | None = None,
) -> dict[str, np.ndarray]:
    """Send a REST predict request and return the signature's outputs."""
    url = rest_predict_url(host, port, model_name, version)
    request = urllib.request.Request(
        url,
        data=json.dumps(rest_predict_body(x)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        # TF Serving reports failures as {"error": "..."} with a 4xx/5xx status.
        detail = exc.read().decode(errors="replace")
        raise UserError(f"{url}: TF Serving answered HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"{url}: cannot reach TF Serving ({reason})") from None
    return parse_rest_predictions(payload)


def grpc_predict_request(
    x: np.ndarray,
    model_name: str,
    input_name: str,
    signature_name: str = SIGNATURE_NAME,
    version: int | None = None,
) -> predict_pb2.PredictRequest:
    """A gRPC PredictRequest carrying ``x`` as a float32 tensor under ``input_name``."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = version
    request.inputs[input_name].CopyFrom(
        tf.make_tensor_proto(np.asarray(x, dtype=np.float32), dtype=tf.float32)
    )
    return request


def predict_grpc(
    host: str, port: int, request: predict_pb2.PredictRequest, timeout: float = 10
) -> dict[str, np.ndarray]:
    """Send a PredictRequest over gRPC and return the signature's outputs."""
    target = f"{host}:{port}"
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise UserError(
                f"{target}: TF Serving gRPC call failed ({exc.code().name}: {exc.details()})"
            ) from None
    return {name: _output(name, tf.make_ndarray(tensor))
            for name, tensor in sorted(response.outputs.items())}


def load_batch(path: str) -> np.ndarray:
    """Read a batch of raw examples from a .npy file (no pickle) as float32."""
    try:
        return np.load(path, allow_pickle=False).astype(np.float32)
    except FileNotFoundError:
        raise UserError(f"--input {path}: file not found") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"--input {path}: not a numeric .npy array ({exc})") from None


def default_input_name(x: np.ndarray) -> str:
    """The project's input name for a batch: "image" for [n, h, w, c], else "features"."""
    return "image" if x.ndim > 2 else "features"


def main(argv: list[str] | None = None) -> int:
    """Command line: send one batch to TF Serving and print the answer as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bigmodel_tf.export.client",
        description="Send a batch of raw examples (.npy) to a TF Serving model.",
    )
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, help=f"default {REST_PORT} (REST), {GRPC_PORT} (gRPC)")
    parser.add_argument("--model", required=True, help="the served model's name")
    parser.add_argument("--input", required=True, help=".npy array [batch, *input_shape]")
    parser.add_argument("--version", type=int, help="model version (default: latest)")
    parser.add_argument("--input-name", help="gRPC input name (default: image or features)")
    parser.add_argument("--grpc", action="store_true", help="use gRPC instead of REST")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds")
    args = parser.parse_args(argv)
    try:
        x = load_batch(args.input)
        if args.grpc:
            request = grpc_predict_request(
                x, args.model, args.input_name or default_input_name(x), version=args.version
            )
            result = predict_grpc(args.host, args.port or GRPC_PORT, request, args.timeout)
        else:
            result = predict_rest(
                args.host, args.port or REST_PORT, args.model, x, args.timeout, args.version
            )
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps({key: value.tolist() for key, value in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
