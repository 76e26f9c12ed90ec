"""Checks of the serving and training container files (Docker cannot run here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from google.protobuf import text_format
from sklearn.datasets import load_digits
from tensorflow_serving.config import model_server_config_pb2

from bigmodel_tf.export import client

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_models_config_parses_and_matches_the_readme():
    parsed = text_format.Parse(
        (ROOT / "docker" / "models.config").read_text(encoding="utf-8"),
        model_server_config_pb2.ModelServerConfig(),
    )
    [model] = parsed.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == (
        "digits_cnn",
        "/models/digits_cnn",
        "tensorflow",
    )
    assert (
        'docker run -p 8500:8500 -p 8501:8501 -v "$PWD/saved_models/digits_cnn:'
        '/models/digits_cnn" -e MODEL_NAME=digits_cnn tensorflow/serving:2.21.0'
    ) in README
    assert "--model_config_file=/models/models.config" in README
    assert "--enable_batching" in README


def test_readme_curl_body_is_what_the_client_sends_for_a_digit():
    body = json.loads(re.search(r"-d '(.*?)'", README, re.DOTALL)[1])
    digit = load_digits().images[:1, :, :, None]
    assert body == client.rest_predict_body(digit)
    assert "http://localhost:8501/v1/models/digits_cnn:predict" in README


def test_training_image_runs_bigmodel_train_by_default_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM tensorflow/tensorflow:2\.21\.0-gpu$", dockerfile, re.MULTILINE)
    assert 'pip install ".[compress,onnx,mlflow]"' in dockerfile  # compress runs in it too
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert dockerfile.rstrip().endswith('ENTRYPOINT ["bigmodel"]\nCMD ["train"]')
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"runs/", "saved_models/", ".git"} <= set(ignored)


def test_serving_image_is_pinned_to_the_training_tensorflow():
    """docker/README.md serves with the TF Serving release of the pinned TensorFlow."""
    tensorflow = re.search(r"tensorflow==(\d+\.\d+)\.\*", (ROOT / "setup.cfg").read_text())[1]
    serving = (ROOT / "docker" / "README.md").read_text(encoding="utf-8")
    images = set(re.findall(r"tensorflow/serving:([\w.-]+)", serving))
    assert images == {f"{tensorflow}.0", f"{tensorflow}.0-gpu"}
    assert f"tensorflow/serving:{tensorflow}.0" in README
