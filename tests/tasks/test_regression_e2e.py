"""Regression end to end on small real data: pipeline, `bigmodel train`, the TF Serving
signature, pruning + int8 TFLite in LiteRT, and a CSV with a numeric label."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from sklearn.datasets import load_diabetes

from bigmodel_tf.cli import main
from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from tests.compression.conftest import LEAN_TRAINING
from tests.pipelines import config_dataset

DATA = ["data.name=synthetic_regression", "data.synthetic.num_examples=1000",
        "data.batch_size=32"]
EPOCHS = 3
# After 3 epochs on 650 train examples the MLP has learned part of Friedman #1: its test
# RMSE is well below that of predicting the train mean (the label's standard deviation).
RMSE_FRACTION_OF_STD = 0.7


def test_pipeline_yields_float32_targets_with_unit_weights():
    """Regression batches carry float32 labels in their units and weight 1 per example."""
    cfg = load_config(None, DATA)
    x, y, w = next(iter(config_dataset(cfg, "train")))
    assert y.dtype == tf.float32 and w.dtype == tf.float32
    np.testing.assert_array_equal(w.numpy(), 1.0)
    assert load_splits(cfg).train.y.dtype == np.float32
    x_val, y_val = next(iter(config_dataset(cfg, "val")))
    assert y_val.dtype == tf.float32 and float(tf.reduce_max(y_val)) > 1.0  # not rescaled


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 3-epoch regression run through the CLI, exported for TF Serving, then compressed."""
    root = tmp_path_factory.mktemp("regression")
    run_dir, exports = root / "run", root / "saved_models"
    lean = [s for s in LEAN_TRAINING if s != "export.enabled=false"]
    assert main(["train", "--run-dir", str(run_dir), "--set", *lean, *DATA,
                 f"train.epochs={EPOCHS}", f"export.dir={exports}",
                 "export.warmup_examples=4"]) == 0
    assert main(["compress", "--run", str(run_dir), "--set", f"export.dir={exports}",
                 "compression.variants=[int8]", "compression.finetune_epochs=2",
                 "compression.latency_runs=5"]) == 0
    return run_dir, exports


def test_train_reaches_the_stated_rmse(trained):
    """metrics.json has mae/rmse/r2 per split; config.yaml records the resolved task."""
    run_dir, _ = trained
    metrics = json.loads((run_dir / "metrics.json").read_text())
    spec = json.loads((run_dir / "data_spec.json").read_text())
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["task"]["name"] == "regression" and config["model"]["name"] == "mlp"
    assert spec["task"] == "regression" and spec["class_names"] == []
    assert {"mae", "rmse", "r2"} <= set(metrics["test"])
    assert metrics["test"]["rmse"] < RMSE_FRACTION_OF_STD * spec["label_std"], metrics["test"]


def test_serving_signature_returns_prediction(trained):
    """`prediction` is float32 [batch] and equals model.predict; a NaN row gives NaN."""
    run_dir, exports = trained
    version = exports / "synthetic_regression_mlp" / "1"
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    x = np.array(load_splits(load_config(run_dir / "config.yaml")).test.x[:8])
    expected = keras.saving.load_model(run_dir / "model.keras").predict(x, verbose=0)[:, 0]
    x[3, 2] = np.nan
    outputs = serve(features=tf.constant(x))
    assert set(outputs) == {"prediction"} and outputs["prediction"].shape == (8,)
    got = outputs["prediction"].numpy()
    assert np.isnan(got[3])
    np.testing.assert_allclose(np.delete(got, 3), np.delete(expected, 3), rtol=1e-5, atol=1e-4)


def test_pruned_int8_tflite_within_tolerance(trained):
    """Pruning + int8 TFLite of the regression MLP: RMSE within 2 % of its float model."""
    run_dir, _ = trained
    report = json.loads((run_dir / "compression" / "compression.json").read_text())
    assert report["task"] == "regression"
    for name in ("base_int8", "pruned_int8"):
        parity = report["variants"][name]["parity"]
        assert parity["rmse_relative_change"] <= 0.02, (name, parity)
        assert parity["within_tolerance"] and {"mae", "rmse", "r2"} <= set(
            report["variants"][name]["test"])
    assert "| rmse_relative_change |" in (run_dir / "compression" / "report.md").read_text()


def test_csv_with_a_numeric_label_trains_as_regression(tmp_path, capsys):
    """data.name=csv, data.path and data.label are all it takes to train a regression; its
    cross-validation summary line names the task's headline metric."""
    bunch = load_diabetes()
    path = tmp_path / "diabetes.csv"
    rows = [",".join([*bunch.feature_names, "progression"])]
    rows += [",".join(f"{v:.6g}" for v in (*x, y)) for x, y in zip(bunch.data, bunch.target,
                                                                     strict=True)]
    path.write_text("\n".join(rows) + "\n")
    run_dir = tmp_path / "run"
    assert main(["train", "--run-dir", str(run_dir), "--set", "data.name=csv",
                 f"data.path={path}", "data.label=progression", *LEAN_TRAINING,
                 "train.epochs=2", "--cv", "2"]) == 0
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["task"]["name"] == "regression"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "rmse" in metrics["test"] and metrics["cv"]["folds"] == 2
    assert "2-fold cross-validation: val rmse " in capsys.readouterr().out
