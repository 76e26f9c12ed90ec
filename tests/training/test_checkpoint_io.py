"""Checkpoint writes off the training thread: the best checkpoint holds the best epoch's
weights and loads ready to evaluate; a failed background write is raised, not lost; host
copies are copies; Keras' save cache is filled under the key it reads."""

import keras
import numpy as np
import pytest

from bigmodel_tf.compat import warm_keras_saving
from bigmodel_tf.training.checkpoint_io import BackgroundWriter, BestCheckpoint, VariableReader

X = np.random.default_rng(1).normal(size=(128, 5)).astype("float32")
Y = (X[:, 0] + X[:, 1] > 0).astype("int32")


def small_model():
    """A compiled classifier (dropout included, so weights and seed state both exist)."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(12, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(2, "softmax")])
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_best_checkpoint_holds_the_best_epochs_weights_and_evaluates(tmp_path):
    model = small_model()
    best = BestCheckpoint(tmp_path / "checkpoints" / "best.keras", monitor="val_loss")
    stopper = keras.callbacks.EarlyStopping("val_loss", patience=100,
                                            restore_best_weights=True)
    history = model.fit(X, Y, batch_size=16, epochs=8, validation_split=0.25, verbose=0,
                        callbacks=[best, stopper])
    losses = history.history["val_loss"]
    assert best.best == min(losses)
    loaded = keras.models.load_model(tmp_path / "checkpoints" / "best.keras")
    for saved, expected in zip(loaded.get_weights(), stopper.best_weights, strict=True):
        np.testing.assert_array_equal(saved, expected)
    val_loss = loaded.evaluate(X[96:], Y[96:], verbose=0, return_dict=True)["loss"]
    assert val_loss == pytest.approx(min(losses), rel=1e-4)
    assert not list((tmp_path / "checkpoints").glob(".*tmp*"))  # renamed into place


def test_a_failed_background_write_is_raised_by_the_next_wait():
    writer = BackgroundWriter()

    def fails():
        raise OSError("disk full")

    writer.submit(fails)
    with pytest.raises(OSError, match="disk full"):
        writer.wait()
    writer.submit(lambda: None)  # the writer goes on after a failure
    writer.wait()


def test_background_writes_land_in_submission_order():
    writer, landed = BackgroundWriter(), []
    for index in range(20):
        writer.submit(landed.append, index)
    writer.wait()
    assert landed == list(range(20))


def test_variable_reader_returns_copies():
    model = small_model()
    reader = VariableReader(model.weights)
    before = reader.read()
    model.fit(X, Y, epochs=1, verbose=0)
    after = reader.read()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    for copy, variable in zip(after, model.weights, strict=True):
        np.testing.assert_array_equal(copy, keras.ops.convert_to_numpy(variable))


def test_warm_keras_saving_fills_the_key_keras_reads():
    from keras.src.backend.common import global_state

    warm_keras_saving()
    for kind in ("Layer", "Functional", "Sequential", "Optimizer"):
        assert global_state.get_global_attribute(f"saving_attr_skiplist_{kind}")
