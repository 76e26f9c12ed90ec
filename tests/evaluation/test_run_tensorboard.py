"""RunTensorBoard writes what Keras' TensorBoard writes (tags, steps, values), with fewer ops;
its NumPy histogram matches TensorBoard's own."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.histogram.summary_v2 import histogram_pb
from tensorboard.util import tensor_util

from bigmodel_tf.training.callbacks import LearningRateLogger
from bigmodel_tf.training.tensorboard import RunTensorBoard, histogram_summary


@pytest.mark.parametrize("values", [
    np.random.default_rng(0).normal(size=(300, 40)), np.arange(7.0), np.ones(5), np.zeros(0),
])
def test_histogram_summary_matches_tensorboards_histogram_pb(values):
    ours = summary_pb2.Summary.FromString(histogram_summary("w", values)).value[0]
    theirs = histogram_pb("w", values).value[0]
    assert ours.metadata == theirs.metadata
    np.testing.assert_array_equal(tensor_util.make_ndarray(ours.tensor),
                                  tensor_util.make_ndarray(theirs.tensor))


def summaries(folder) -> dict:
    """{(tag, step): value array} of every summary in a TensorBoard run folder."""
    found = {}
    for path in folder.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found[(value.tag, event.step)] = tensor_util.make_ndarray(value.tensor)
    return found


def test_run_tensorboard_writes_what_keras_writes(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    boards = {"keras": keras.callbacks.TensorBoard(str(tmp_path / "keras"), histogram_freq=2),
              "ours": RunTensorBoard(str(tmp_path / "ours"), histogram_freq=2)}
    model.fit(x, y, batch_size=16, epochs=5, validation_split=0.25, verbose=0,
              callbacks=[LearningRateLogger(), *boards.values()])
    for run in ("train", "validation"):
        keras_side, ours = (summaries(tmp_path / name / run) for name in boards)
        assert set(ours) == set(keras_side)
        for key, value in keras_side.items():
            if key[0].endswith("/histogram"):  # TF's bucketing ops vs NumPy: same edges
                np.testing.assert_allclose(ours[key][:, :2], value[:, :2], rtol=1e-6)
                assert ours[key][:, 2].sum() == value[:, 2].sum()
            elif value.dtype.kind == "f":
                np.testing.assert_allclose(ours[key], value, rtol=1e-6)
            else:  # the Keras model graph (its config, serialized)
                np.testing.assert_array_equal(ours[key], value)
    train = summaries(tmp_path / "ours" / "train")
    assert {step for tag, step in train if tag.endswith("/histogram")} == {0, 2, 4}
    assert ("epoch_learning_rate", 4) in train
