"""The regression task: a linear float32 output in the label's units, MSE or Huber loss.

The network learns a unit-scale target: its last Dense layer is followed by a fixed
rescale with the train split's label mean and standard deviation (``DataSpec.label_mean``
and ``label_std``), so the model predicts, and serves, values in the label's units. The
evaluation methods delegate to this package's ``scoring``, ``figures`` and ``baselines``
modules.
"""

from __future__ import annotations

import numpy as np

from bigmodel_tf.errors import ConfigError
from bigmodel_tf.tasks.base import Task, regularizer

# An int8 TFLite model is within tolerance when its test RMSE is at most this fraction
# above the float model's.
RMSE_TOLERANCE = 0.02


def rmse(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Root mean squared error of predictions ([n] or [n, 1]) against labels ([n])."""
    diff = np.ravel(predictions).astype(np.float64) - np.ravel(labels).astype(np.float64)
    return float(np.sqrt(np.mean(diff**2)))


class RegressionTask(Task):
    """Labels are float32 values; the model outputs one value per example ([batch, 1])."""

    name = "regression"
    package = "bigmodel_tf.tasks.regression"
    headline = "rmse"
    direction = "min"
    label_dtype = "float32"
    losses = ("mse", "huber")
    parity_key = "rmse_relative_change"

    def head(self, x, spec, model_cfg, keras):
        """Dense(1) on a unit scale, rescaled to the label's units: float32 ``prediction``."""
        x = keras.layers.Dense(
            1, kernel_regularizer=regularizer(model_cfg, keras), name="standardized_prediction"
        )(x)
        return keras.layers.Rescaling(
            scale=spec.label_std, offset=spec.label_mean, dtype="float32", name="prediction"
        )(x)

    def loss(self, task_cfg, keras):
        """Mean squared error, or Huber with ``task.huber_delta`` (in the label's units)."""
        if self.loss_name(task_cfg) == "huber":
            return keras.losses.Huber(delta=task_cfg.huber_delta)
        return keras.losses.MeanSquaredError()

    def compile_metrics(self, keras) -> list:
        """MAE and RMSE (history.csv columns ``mae`` and ``rmse``)."""
        return [keras.metrics.MeanAbsoluteError(name="mae"),
                keras.metrics.RootMeanSquaredError(name="rmse")]

    def check_config(self, task_cfg, data_cfg, train_cfg) -> None:
        """Also refuse class-imbalance handling and an accuracy monitor (no classes here)."""
        super().check_config(task_cfg, data_cfg, train_cfg)
        imbalance = data_cfg.imbalance
        if imbalance.class_weight != "none" or imbalance.resample != "none":
            raise ConfigError(
                "data.imbalance: class weights and resampling are for classification; "
                "regression needs class_weight=none and resample=none"
            )
        if train_cfg.monitor == "val_accuracy":
            raise ConfigError("train.monitor=val_accuracy: regression has no accuracy; "
                              "use val_loss")

    def serving_outputs(self, inputs, outputs, spec, decision=None) -> dict:
        """``prediction``: float32 [batch] in the label's units, NaN for a row with a
        non-finite input value (a regression has no decision rule)."""
        import tensorflow as tf  # on first use: the task's other parts need no TensorFlow

        prediction = tf.cast(outputs, tf.float32)[:, 0]
        rows = tf.reshape(inputs, [tf.shape(inputs)[0], -1])
        valid = tf.reduce_all(tf.math.is_finite(rows), axis=1)
        return {"prediction": tf.where(valid, prediction, float("nan"))}

    def tflite_check(self, reference, candidate, labels):
        """Test RMSE of the float and the converted model, the relative change, and the
        largest difference between their predictions."""
        float_rmse, tflite_rmse = rmse(labels, reference), rmse(labels, candidate)
        change = (tflite_rmse - float_rmse) / float_rmse if float_rmse > 0 else 0.0
        return {
            "rmse_float": float_rmse,
            "rmse_tflite": tflite_rmse,
            "rmse_relative_change": change,
            "max_abs_diff": float(np.max(np.abs(np.ravel(candidate) - np.ravel(reference)))),
            "within_tolerance": change <= RMSE_TOLERANCE,
        }
