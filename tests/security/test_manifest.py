"""Manifests: every exported artifact (model.keras, each SavedModel file, TFLite files) is
listed with its sha256, the config hash and the library versions; loading checks the hash
and refuses a mismatch, a missing file or an unlisted one."""

import json

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.benchmarks.tflite import run_tflite
from bigmodel_tf.config import config_hash, export_name, replace
from bigmodel_tf.data import load_splits
from bigmodel_tf.errors import ArtifactError
from bigmodel_tf.export.saved_model import export_serving_model
from bigmodel_tf.loading import load_keras_model
from bigmodel_tf.manifest import (
    MANIFEST,
    sha256_file,
    verify_file,
    verify_folder,
    write_manifest,
)


def flip_a_byte(path, offset=-100):
    """Change one byte of a file (same size, different content)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_model_keras_is_listed_and_a_changed_byte_is_refused(iris_model, iris_cfg, tmp_path):
    model, _, _ = iris_model
    model.save(tmp_path / "model.keras")
    write_manifest(tmp_path, config_hash(iris_cfg), ["model.keras"])
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["config_hash"] == config_hash(iris_cfg)
    assert manifest["versions"]["tensorflow"] == tf.__version__
    entry = manifest["files"]["model.keras"]
    assert entry == {"sha256": sha256_file(tmp_path / "model.keras"),
                     "bytes": (tmp_path / "model.keras").stat().st_size}
    load_keras_model(tmp_path / "model.keras")
    flip_a_byte(tmp_path / "model.keras")
    with pytest.raises(ArtifactError, match="sha256 does not match"):
        load_keras_model(tmp_path / "model.keras")


def test_a_file_without_manifest_or_not_listed_is_refused(iris_model, tmp_path):
    model, _, _ = iris_model
    model.save(tmp_path / "model.keras")
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_keras_model(tmp_path / "model.keras")
    write_manifest(tmp_path, None, [])
    with pytest.raises(ArtifactError, match="not listed"):
        verify_file(tmp_path / "model.keras")


def test_every_savedmodel_file_is_listed_and_checked(iris_model, iris_cfg, tmp_path):
    model, spec, x = iris_model
    version = export_serving_model(model, spec, tmp_path, "iris", x[:2], config_hash(iris_cfg))
    manifest = verify_folder(version)
    files = {p.relative_to(version).as_posix() for p in version.rglob("*")
             if p.is_file() and p.name != MANIFEST}
    assert set(manifest["files"]) == files
    assert {"saved_model.pb", "assets.extra/tf_serving_warmup_requests"} <= files
    assert manifest["config_hash"] == config_hash(iris_cfg)

    (version / "extra.txt").write_text("planted")
    with pytest.raises(ArtifactError, match="extra.txt: not listed"):
        verify_folder(version)
    (version / "extra.txt").unlink()
    (variables,) = version.glob("variables/variables.data-*")
    flip_a_byte(variables, offset=0)
    with pytest.raises(ArtifactError, match="variables.data.*sha256 does not match"):
        verify_folder(version)


def test_manifests_grow_when_artifacts_are_added(tmp_path):
    for name in ("a.tflite", "b.tflite"):
        (tmp_path / name).write_bytes(np.arange(10, dtype=np.uint8).tobytes())
        write_manifest(tmp_path, None, [name])
    assert set(verify_folder(tmp_path)["files"]) == {"a.tflite", "b.tflite"}
    (tmp_path / "b.tflite").unlink()
    with pytest.raises(ArtifactError, match="b.tflite: listed in manifest.json but missing"):
        verify_folder(tmp_path)


def test_tflite_files_are_listed_and_a_changed_byte_is_refused(iris_model, iris_cfg, tmp_path):
    model, _, _ = iris_model
    cfg = replace(iris_cfg, [f"export.dir={tmp_path}"])
    folder = tmp_path / export_name(cfg) / "tflite"
    folder.mkdir(parents=True)
    (folder / "float32.tflite").write_bytes(
        tf.lite.TFLiteConverter.from_keras_model(model).convert())
    (folder / "compression.json").write_text(
        json.dumps({"variants": {"float32": {"file": "float32.tflite"}}}))
    write_manifest(folder, config_hash(cfg))  # as `bigmodel compress` does
    assert set(verify_folder(folder)["files"]) == {"float32.tflite", "compression.json"}
    test = load_splits(cfg).test
    assert run_tflite(folder, cfg.compression, test)["variants"]["float32"]["test_accuracy"] >= 0
    flip_a_byte(folder / "float32.tflite")
    with pytest.raises(ArtifactError, match="float32.tflite: sha256 does not match"):
        run_tflite(folder, cfg.compression, test)
