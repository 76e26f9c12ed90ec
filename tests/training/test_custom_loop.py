"""The multi-worker loop is the same training as Keras' fit: checked on one device.

MultiWorkerMirroredStrategy itself needs several processes (test_distributed.py); the
loop is strategy-agnostic, so on the default strategy it must reproduce ``fit`` exactly:
same batches, same loss, same updates, same callbacks' logs.
"""

import keras
import numpy as np
import tensorflow as tf

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.models import build_model
from bigmodel_tf.training.custom_loop import fit_distributed, local_copy
from bigmodel_tf.training.trainer import compile_model
from tests.pipelines import config_dataset, config_reader


def trained(cfg, use_loop: bool):
    """History and model after ``fit`` or the custom loop, from the same seed."""
    keras.utils.set_random_seed(cfg.seed)
    train, val = config_dataset(cfg, "train"), config_dataset(cfg, "val")
    steps = int(train.cardinality())
    spec = load_splits(cfg).spec
    model = build_model(cfg.model, spec)
    compile_model(model, cfg.train, cfg.runtime, cfg.task, spec.task, steps)
    csv = keras.callbacks.CSVLogger("/dev/null")  # any Keras callback runs in both
    if use_loop:
        history = fit_distributed(tf.distribute.get_strategy(), model, config_reader(cfg),
                                  steps, cfg.train.epochs, [csv], 0)
    else:
        history = model.fit(train, validation_data=val, epochs=cfg.train.epochs,
                            callbacks=[csv], verbose=0)
    return history.history, model


def test_custom_loop_matches_fit_on_one_device():
    """With BatchNormalization, L2 regularization and class weights (sample weights)."""
    cfg = load_config(None, ["model.name=mlp", "train.epochs=2", "model.l2=0.001",
                             "data.imbalance.class_weight=balanced"])
    fit_history, fit_model = trained(cfg, use_loop=False)
    loop_history, loop_model = trained(cfg, use_loop=True)
    assert set(loop_history) == set(fit_history)  # loss, accuracy, val_loss, val_accuracy
    for key, values in fit_history.items():
        np.testing.assert_allclose(loop_history[key], values, rtol=1e-5, err_msg=key)
    for a, b in zip(fit_model.get_weights(), loop_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_local_copy_keeps_weights_and_optimizer_state():
    cfg = load_config(None, ["model.name=mlp", "train.epochs=1"])
    _, model = trained(cfg, use_loop=True)
    copy = local_copy(model)
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [v.path for v in copy.optimizer.variables] == [
        v.path for v in model.optimizer.variables]
    for a, b in zip(model.optimizer.variables, copy.optimizer.variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                      keras.ops.convert_to_numpy(b))
