"""Export stage: TF Serving warm-up records written next to the SavedModel.

TF Serving replays ``assets.extra/tf_serving_warmup_requests`` (a TFRecord file of
``PredictionLog`` protos) when it loads a model version, so the first real request does
not pay for lazy initialization. A record that does not match the signature makes the
whole version fail to load, so the examples' shape is checked before anything is written.
The records carry what a client sends: for a CSV model the raw rows (one named input per
column, categories as strings), decoded from the encoded examples (``data.columns``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from bigmodel_tf.data.columns import signature_inputs
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.export.client import SIGNATURE_NAME, grpc_predict_request

ASSETS_EXTRA = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000  # TF Serving reads at most this many warm-up records


def warmup_records(
    examples: np.ndarray | dict[str, np.ndarray],
    model_name: str,
    input_name: str | None = None,
    signature_name: str = SIGNATURE_NAME,
) -> list[prediction_log_pb2.PredictionLog]:
    """One PredictLog per example (batch of 1), so warm-up exercises the serving path:
    ``examples`` is one array (sent under ``input_name``) or a batch per named input."""
    named = examples if isinstance(examples, dict) else None
    count = len(next(iter(named.values()))) if named else len(examples)
    if count > MAX_WARMUP_RECORDS:
        raise ValueError(
            f"warm-up examples: TF Serving reads at most {MAX_WARMUP_RECORDS}, got {count}"
        )
    requests = (
        [grpc_predict_request({k: v[i : i + 1] for k, v in named.items()}, model_name,
                              signature_name=signature_name) for i in range(count)]
        if named else
        [grpc_predict_request(np.asarray(example, np.float32)[np.newaxis], model_name,
                              input_name, signature_name) for example in examples]
    )
    return [prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            for request in requests]


def write_warmup_file(
    saved_model_dir: str | Path,
    examples: np.ndarray,
    model_name: str,
    spec: DataSpec,
    signature_name: str = SIGNATURE_NAME,
) -> Path:
    """Write the warm-up TFRecord into ``saved_model_dir/assets.extra``; return its path.

    ``examples`` are encoded examples [n, *input_shape] (what the Keras model takes)."""
    examples = np.asarray(examples, dtype=np.float32)
    if list(examples.shape[1:]) != list(spec.input_shape):
        raise ValueError(
            f"warm-up examples: expected shape [n, {', '.join(map(str, spec.input_shape))}], "
            f"got {list(examples.shape)}"
        )
    records = warmup_records(signature_inputs(examples, spec), model_name,
                             signature_name=signature_name)
    path = Path(saved_model_dir) / ASSETS_EXTRA / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record.SerializeToString())
    return path


def read_warmup_file(path: str | Path) -> list[prediction_log_pb2.PredictionLog]:
    """Parse a warm-up file back into PredictionLog protos (to inspect or test an export)."""
    return [
        prediction_log_pb2.PredictionLog.FromString(raw.numpy())
        for raw in tf.data.TFRecordDataset(str(path))
    ]
