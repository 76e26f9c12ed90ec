"""End-to-end: `bigmodel train` from data to run directory and TF Serving SavedModel.

These train real models on real (small) data and check the accuracy bars of the issue;
they are marked slow (skip locally with ``-m "not slow"``; CI runs them).
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from sklearn.datasets import load_digits, load_wine

from bigmodel_tf.cli import main
from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]


# Baselines and interpretation are tested in tests/evaluation; here they only cost time.
NO_EXTRAS = ["evaluation.baselines=[]", "evaluation.interpret=false"]


def train(tmp_path, *overrides, config=None, run="run"):
    """Train in this process through the CLI; return the run's metrics.json."""
    args = ["train", "--run-dir", str(tmp_path / run),
            "--set", f"export.dir={tmp_path / 'saved_models'}", *NO_EXTRAS, *overrides]
    if config:
        args += ["--config", str(ROOT / "configs" / config)]
    assert main(args) == 0
    return json.loads((tmp_path / run / "metrics.json").read_text())


def train_process(cwd, *args, script=True):
    """Train in a fresh process (needed for device splits and op determinism)."""
    command = [sys.executable, str(ROOT / "scripts/train.py")] if script else [
        sys.executable, "-m", "bigmodel_tf.cli"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


def test_default_experiment_end_to_end(default_run):
    """`python scripts/train.py` with no arguments (tests/conftest.py): ≥ 0.97 on digits,
    run dir, SavedModel."""
    tmp_path, run_dir = default_run.cwd, default_run.run_dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    print(f"default run: {default_run.seconds:.0f} s, "
          f"test accuracy {metrics['test']['accuracy']:.4f}")
    assert metrics["test"]["accuracy"] >= 0.97
    for split in ("train", "val", "test"):
        assert set(metrics[split]) >= {"accuracy", "loss", "precision_macro", "recall_macro",
                                       "f1_macro", "roc_auc"}
    assert metrics["diagnosis"] in ("good_fit", "overfit", "underfit")
    assert metrics["epochs_run"] >= 1 and metrics["train_examples_per_sec"] > 0
    for name in ("config.yaml", "data_spec.json", "history.csv", "model.keras",
                 "checkpoints/best.keras"):
        assert (run_dir / name).exists(), name
    assert list((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    history = (run_dir / "history.csv").read_text().splitlines()
    assert "learning_rate" in history[0] and len(history) == metrics["epochs_run"] + 1

    version = tmp_path / "saved_models" / "digits_cnn" / "1"
    assert (version / "saved_model.pb").exists()
    assert (version / "assets.extra" / "tf_serving_warmup_requests").exists()
    # Parity: the SavedModel gives the Keras model's predictions on the test split.
    import keras

    cfg = load_config(run_dir / "config.yaml")
    x_test = load_splits(cfg).test.x
    expected = keras.models.load_model(run_dir / "model.keras").predict(x_test, verbose=0)
    serving = tf.saved_model.load(str(version)).signatures["serving_default"]
    outputs = serving(image=tf.constant(x_test))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(outputs["class_id"].numpy(), expected.argmax(axis=1))

    # The same command again finds the finished run: no retraining, no new version.
    again = train_process(tmp_path)
    assert again.returncode == 0 and "already finished" in again.stdout
    assert not (tmp_path / "saved_models" / "digits_cnn" / "2").exists()


def test_breast_cancer_config_reaches_roc_auc(tmp_path):
    metrics = train(tmp_path, config="breast_cancer_mlp.yaml")
    assert metrics["test"]["roc_auc"] >= 0.98


def test_csv_with_string_labels_and_a_categorical_column(tmp_path):
    wine = load_wine()
    rng = np.random.default_rng(0)
    path = tmp_path / "wine.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*wine.feature_names, "cellar", "variety"])
        for row, label in zip(wine.data, wine.target, strict=True):
            cellar = rng.choice(["north", "south", "east"])
            writer.writerow([*row, cellar, ["barolo", "grignolino", "barbera"][label]])
    metrics = train(tmp_path, "data.name=csv", f"data.path={path}", "data.label=variety",
                    "model.name=mlp", "train.epochs=40")
    spec = json.loads((tmp_path / "run" / "data_spec.json").read_text())
    assert spec["class_names"] == ["barbera", "barolo", "grignolino"]
    assert metrics["test"]["accuracy"] >= 0.9


def test_image_folder_of_any_size(tmp_path):
    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images[:600], digits.target[:600],
                                           strict=True)):
        folder = tmp_path / "images" / f"digit_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        size = (12 + i % 9, 12 + i % 7)  # images of different sizes, resized by the loader
        pixels = (image * 255 / 16).astype("uint8")
        Image.fromarray(pixels).resize(size).convert("RGB").save(folder / f"{i}.png")
    metrics = train(tmp_path, "data.name=image_dir", f"data.path={tmp_path / 'images'}",
                    "data.image_size=[16,16]", "train.epochs=30")
    assert metrics["test"]["accuracy"] >= 0.9


def test_tfrecord_shards_train_like_memory(tmp_path):
    assert main(["data", "convert", "--out", str(tmp_path / "records")]) == 0
    common = ["model.name=mlp", "train.epochs=20", "export.enabled=false"]
    memory = train(tmp_path, *common, run="memory")
    records = train(tmp_path, *common, "data.name=tfrecord",
                    f"data.path={tmp_path / 'records'}", run="from_records")
    assert abs(memory["test"]["accuracy"] - records["test"]["accuracy"]) <= 0.02
    assert records["test"]["accuracy"] >= 0.94


@pytest.mark.parametrize(
    "overrides",
    [
        # transformer and mobilenetv2 train through `bigmodel train` in
        # tests/compression/test_zoo_e2e.py, MirroredStrategy in tests/training/test_distributed.py
        ["model.name=resnet", "runtime.mixed_precision=mixed_bfloat16"],
        ["train.optimizer=adamw", "train.schedule=cosine", "train.warmup_epochs=1",
         "train.ema=true", "train.gradient_accumulation_steps=2", "train.global_clipnorm=1"],
        ["train.optimizer=sgd", "train.nesterov=true", "train.reduce_on_plateau=true",
         "data.augment.rotation=0.05", "data.imbalance.resample=oversample"],
    ],
    ids=["resnet-bf16", "adamw-cosine-ema-accum", "sgd-plateau"],
)
def test_every_model_and_option_trains(tmp_path, overrides):
    metrics = train(tmp_path, *overrides, "train.epochs=3", "export.enabled=false")
    assert metrics["epochs_run"] == 3
    assert np.isfinite(metrics["test"]["loss"])
    with (tmp_path / "run" / "history.csv").open() as handle:
        losses = [float(row["loss"]) for row in csv.DictReader(handle)]
    # It learns: a later epoch beats the first (an epoch of few batches is noisy, so not
    # always the last); accuracy bars are checked by longer runs.
    assert min(losses[1:]) < losses[0]

