"""End-to-end check of the default model: the default CNN learns scikit-learn digits."""

import time

import keras
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.models import build_model


@pytest.mark.slow
def test_default_cnn_reaches_97_percent_on_digits():
    """Default config (cnn, adam 1e-3, batch 64, 30 epochs): >= 0.97 test accuracy, fast."""
    cfg = ExperimentConfig()
    digits = load_digits()
    x = digits.images.astype("float32")[..., None]  # raw 0..16 pixels, 8x8x1
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.2, stratify=digits.target, random_state=cfg.seed
    )
    spec = DataSpec(
        "image",
        [8, 8, 1],
        [str(c) for c in digits.target_names],
        mean=[float(x_train.mean())],
        variance=[float(x_train.var())],
    )
    model = build_model(cfg.model, spec)
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.train.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        x_train, y_train, batch_size=cfg.data.batch_size, epochs=cfg.train.epochs, verbose=0
    )
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"default cnn on digits: {accuracy:.4f} test accuracy, {seconds:.1f} s training")
    assert accuracy >= 0.97
