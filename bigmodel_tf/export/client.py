"""Export stage: a small TF Serving client (REST and gRPC) for exported models.

Builds predict requests for the ``serving_default`` signature that ``saved_model`` writes
and returns the outputs as numpy arrays (``probabilities`` and ``class_id`` for
classification, ``prediction`` for regression). Its inputs are raw: one float32 batch
(``image`` or ``features``) as an array, or for a CSV model raw rows, one named input per
column (numbers for numeric columns, strings for categorical ones) given as a list of
``{column: value}`` rows or as ``{column: values}``. Requests are sent with the standard
library (REST) or ``grpc`` + ``tensorflow-serving-api`` (gRPC). For manual use:

    python -m bigmodel_tf.export.client --model digits_cnn --input batch.npy [--grpc]
    python -m bigmodel_tf.export.client --model wine_mlp --input rows.json [--grpc]
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

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


Rows = list[dict] | dict[str, Sequence]  # raw rows of a CSV model, or their columns


def _input_array(values) -> np.ndarray:
    """One named input as a batch: strings stay strings (object), numbers become float32."""
    array = np.asarray(values)
    return array.astype(object) if array.dtype.kind in "OUS" else array.astype(np.float32)


def named_inputs(rows: Rows) -> dict[str, np.ndarray]:
    """Raw rows (``[{column: value}, ...]``) or columns (``{column: values}``) as one batch
    per named input."""
    if isinstance(rows, dict):
        return {name: _input_array(values) for name, values in rows.items()}
    if not rows:
        raise UserError("no rows to send")
    names = list(rows[0])
    for i, row in enumerate(rows):
        if list(row) != names:
            raise UserError(f"row {i}: has columns {sorted(row)}, expected {sorted(names)}")
    return {name: _input_array([row[name] for row in rows]) for name in names}


def rest_predict_body(x: np.ndarray | Rows, signature_name: str = SIGNATURE_NAME) -> dict:
    """The JSON body of a REST predict request in row format (one instance per example):
    an array's examples, or raw rows as ``{column: value}`` objects."""
    if isinstance(x, np.ndarray):
        instances = np.asarray(x, dtype=np.float32).tolist()
    else:
        columns = {name: values.tolist() for name, values in named_inputs(x).items()}
        count = len(next(iter(columns.values())))
        instances = [{name: values[i] for name, values in columns.items()}
                     for i in range(count)]
    return {"signature_name": signature_name, "instances": instances}


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
    x: np.ndarray | Rows,
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
    x: np.ndarray | Rows,
    model_name: str,
    input_name: str | None = None,
    signature_name: str = SIGNATURE_NAME,
    version: int | None = None,
) -> predict_pb2.PredictRequest:
    """A gRPC PredictRequest: an array as one float32 tensor under ``input_name`` (default
    ``default_input_name``), or raw rows as one tensor per column (float32 or string)."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = version
    inputs = ({input_name or default_input_name(x): np.asarray(x, dtype=np.float32)}
              if isinstance(x, np.ndarray) else named_inputs(x))
    for name, values in inputs.items():
        dtype = tf.string if values.dtype == object else tf.float32
        request.inputs[name].CopyFrom(tf.make_tensor_proto(values, dtype=dtype))
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


def load_batch(path: str) -> np.ndarray | list[dict]:
    """Read a batch of raw examples: a .npy file (no pickle) as float32, or a .json file
    holding a list of ``{column: value}`` rows (a CSV model's raw rows)."""
    try:
        if path.endswith(".json"):
            with open(path, encoding="utf-8") as handle:
                rows = json.load(handle)
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise UserError(f"--input {path}: expected a JSON list of {{column: value}} rows")
            return rows
        return np.load(path, allow_pickle=False).astype(np.float32)
    except FileNotFoundError:
        raise UserError(f"--input {path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"--input {path}: not valid JSON ({exc})") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"--input {path}: not a numeric .npy array ({exc})") from None


def default_input_name(x: np.ndarray) -> str:
    """The project's input name for an array batch: "image" for [n, h, w, c], else
    "features"."""
    return "image" if np.ndim(x) > 2 else "features"


def main(argv: list[str] | None = None) -> int:
    """Command line: send one batch to TF Serving and print the answer as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bigmodel_tf.export.client",
        description="Send a batch of raw examples (.npy, or .json rows) to a TF Serving model.",
    )
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, help=f"default {REST_PORT} (REST), {GRPC_PORT} (gRPC)")
    parser.add_argument("--model", required=True, help="the served model's name")
    parser.add_argument("--input", required=True,
                        help=".npy array [batch, *input_shape], or .json list of raw rows")
    parser.add_argument("--version", type=int, help="model version (default: latest)")
    parser.add_argument("--input-name", help="gRPC input name (default: image or features)")
    parser.add_argument("--grpc", action="store_true", help="use gRPC instead of REST")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds")
    args = parser.parse_args(argv)
    try:
        x = load_batch(args.input)
        if args.grpc:
            request = grpc_predict_request(x, args.model, args.input_name,
                                           version=args.version)
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
