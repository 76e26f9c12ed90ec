"""ONNX export (bigmodel_tf/export/onnx.py): every zoo model converted from its TF Serving
version matches it in onnxruntime; the ONNX folder sits beside the base path, listed in
its manifest; an op tf2onnx cannot map, or a missing [onnx] extra, is one line and exit 2
with the SavedModel version left published."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.cli import main
from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ExportError, MissingExtraError
from bigmodel_tf.export import onnx as onnx_export
from bigmodel_tf.export.saved_model import export_serving_model
from bigmodel_tf.manifest import verify_folder, write_manifest
from bigmodel_tf.models import build_model
from tests.compression.conftest import LEAN_TRAINING
from tests.models.harness import perturbed

MAX_DIFF = 1e-5
ZOO = ["mlp", "cnn", "resnet", pytest.param("mobilenetv2", marks=pytest.mark.slow),
       "transformer"]


def onnx_files(base) -> list[str]:
    """Every path under a folder, relative (hidden temporary folders included)."""
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*"))


def last_error_line(capsys) -> str:
    """The CLI's one-line error, checked to come without a traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("name", ZOO)
def test_every_zoo_model_matches_its_savedmodel_in_onnxruntime(name, image_spec, make_inputs,
                                                             tmp_path):
    """mobilenetv2 is marked slow (its export and conversion take over 20 s on 2 shared
    cores); the others take a few seconds each."""
    model = build_model(ModelConfig(name=name, width=16, alpha=0.35), image_spec)
    model.set_weights(perturbed(model.get_weights()))
    version = export_serving_model(model, image_spec, tmp_path, name, None, "hash")
    x = make_inputs(image_spec, 64)
    folder = onnx_export.export_onnx(version, x, "hash")
    assert folder == tmp_path / f"{name}-onnx" / "1"
    meta = json.loads((folder / onnx_export.METADATA_FILE).read_text())
    parity = meta["parity"]
    print(f"{name}: {onnx_export.summary(parity)}")  # the README's table (pytest -s)
    assert parity["examples"] == 64 and parity["within_tolerance"]
    assert parity["outputs"]["class_id"]["match"] == 1.0
    assert parity["outputs"]["probabilities"]["max_abs_diff"] <= MAX_DIFF
    assert meta["opset"] == 17 and meta["source"] == str(version)
    assert set(verify_folder(folder)["files"]) == {"model.onnx", "onnx.json"}
    verify_folder(version)  # the TF Serving version is untouched: no file added to it
    assert not list(version.rglob("*.onnx"))


def test_a_regression_model_is_compared_by_its_prediction(make_inputs, tmp_path):
    spec = DataSpec("tabular", [4], [], feature_names=list("abcd"), mean=[0.0] * 4,
                    variance=[1.0] * 4, task="regression", label_mean=3.0, label_std=2.0)
    model = build_model(ModelConfig(name="mlp", width=8), spec)
    version = export_serving_model(model, spec, tmp_path, "reg", None, None)
    folder = onnx_export.export_onnx(version, make_inputs(spec, 32))
    prediction = json.loads((folder / "onnx.json").read_text())["parity"]["outputs"]
    assert list(prediction) == ["prediction"]
    assert prediction["prediction"]["max_abs_diff"] <= MAX_DIFF
    assert prediction["prediction"]["rms_diff"] <= prediction["prediction"]["max_abs_diff"]


@pytest.fixture
def lgamma_version(tmp_path):
    """A published-looking version whose signature uses Lgamma, which tf2onnx cannot map."""

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="features")])
        def serve(self, features):
            return {"prediction": tf.math.lgamma(features)}

    module = Model()
    version = tmp_path / "m" / "1"
    tf.saved_model.save(module, str(version), signatures={"serving_default": module.serve})
    write_manifest(version, None)
    return version


def test_an_op_tf2onnx_cannot_map_is_named_and_the_version_stays(lgamma_version):
    with pytest.raises(ExportError) as raised:
        onnx_export.export_onnx(lgamma_version, np.ones((2, 3), np.float32))
    assert str(raised.value) == (
        f"{lgamma_version}: tf2onnx cannot convert op Lgamma to ONNX opset 17; the SavedModel "
        "version stays published (export.formats without onnx exports it alone)")
    verify_folder(lgamma_version)
    assert not onnx_export.onnx_base(lgamma_version).exists()


def test_a_missing_onnx_extra_is_one_line_before_training(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an absent package finds
    assert main(["train", "--run-dir", str(tmp_path / "run"), "--set",
                 "export.formats=[saved_model,onnx]"]) == 2
    assert last_error_line(capsys) == (
        'bigmodel: error: export.formats=[..., onnx] needs onnxruntime (the [onnx] extra): '
        'pip install "bigmodel_tf[onnx]"')
    assert not (tmp_path / "run").exists()
    with pytest.raises(MissingExtraError, match=r'pip install "bigmodel_tf\[onnx\]"'):
        onnx_export.export_onnx(tmp_path / "m" / "1")


@pytest.fixture(scope="module")
def onnx_run(tmp_path_factory):
    """A tiny iris run trained with export.formats=[saved_model, onnx]: (root, run dir)."""
    root = tmp_path_factory.mktemp("onnx_run")
    run = root / "run"
    assert main(["train", "--run-dir", str(run), "--set", *LEAN_TRAINING,
                 "export.enabled=true", f"export.dir={root / 'saved_models'}",
                 "export.formats=[saved_model,onnx]", "data.name=iris", "model.name=mlp",
                 "model.width=8", "train.epochs=1"]) == 0
    return root, run


@pytest.mark.slow
def test_train_and_export_write_onnx_beside_each_version(onnx_run, monkeypatch, capsys):
    """Slow (over a minute on 2 shared cores): a one-epoch training, then four exports."""
    root, run = onnx_run
    base = root / "saved_models" / "iris_mlp"
    onnx_base = root / "saved_models" / "iris_mlp-onnx"
    assert onnx_files(onnx_base) == ["1", "1/manifest.json", "1/model.onnx", "1/onnx.json"]
    assert json.loads((onnx_base / "1" / "onnx.json").read_text())["parity"]["within_tolerance"]

    assert main(["export", "--run", str(run), "--format", "onnx"]) == 2  # 1 is converted
    assert last_error_line(capsys) == (
        f"bigmodel: error: {onnx_base / '1'}: exists (version 1 was converted already); "
        "export a new SavedModel version to convert again")
    assert main(["export", "--run", str(run), "--format", "saved_model"]) == 0
    assert capsys.readouterr().out.strip() == f"SavedModel for TF Serving: {base / '2'}"
    assert not (onnx_base / "2").exists()
    assert main(["export", "--run", str(run), "--format", "onnx"]) == 0  # the newest: 2
    assert capsys.readouterr().out.strip() == f"ONNX: {onnx_base / '2' / 'model.onnx'}"
    verify_folder(onnx_base / "2")

    monkeypatch.setattr(onnx_export, "_unmapped_ops", lambda model: ["Lgamma"])
    assert main(["export", "--run", str(run)]) == 2  # export.formats of the run: both
    assert last_error_line(capsys) == (
        f"bigmodel: error: {base / '3'}: tf2onnx cannot convert op Lgamma to ONNX opset 17; "
        "the SavedModel version stays published (export.formats without onnx exports it "
        "alone)")
    verify_folder(base / "3")
    assert onnx_files(onnx_base) == [
        "1", "1/manifest.json", "1/model.onnx", "1/onnx.json",
        "2", "2/manifest.json", "2/model.onnx", "2/onnx.json"]
