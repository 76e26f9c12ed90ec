"""The classification task: Dense logits, a float32 softmax, cross-entropy and accuracy.

The evaluation methods delegate to this package's ``scoring``, ``figures`` and
``baselines`` modules.
"""

from __future__ import annotations

import numpy as np

from bigmodel_tf.tasks.base import Task, regularizer

NO_CLASS = -1  # class_id of a row the model cannot classify (non-finite input or output)
PARITY_TOLERANCE = 0.95  # top-1 match rate of a converted model below which it is broken


class ClassificationTask(Task):
    """Labels are class ids 0..classes-1; the model outputs class probabilities."""

    name = "classification"
    package = "bigmodel_tf.tasks.classification"
    headline = "accuracy"
    direction = "max"
    label_dtype = "int32"
    losses = ("crossentropy",)
    parity_key = "top1_match"

    def head(self, x, spec, model_cfg, keras):
        """Dense logits, then a float32 softmax named ``probabilities``.

        The softmax layer is float32 so that mixed precision policies still give a float32
        output.
        """
        x = keras.layers.Dense(
            spec.num_classes, kernel_regularizer=regularizer(model_cfg, keras), name="logits"
        )(x)
        return keras.layers.Activation("softmax", dtype="float32", name="probabilities")(x)

    def loss(self, task_cfg, keras):
        """Sparse categorical cross-entropy on the probabilities."""
        return keras.losses.SparseCategoricalCrossentropy()

    def compile_metrics(self, keras) -> list:
        """Accuracy (history.csv column ``accuracy``)."""
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def serving_outputs(self, inputs, outputs, spec, decision=None) -> dict:
        """``probabilities`` (float32 [batch, classes]) and ``class_id`` (int64 [batch]).

        ``class_id`` is argmax, or with a binary ``decision`` (``serving_decision``) the
        positive class where its probability reaches the threshold. A row with a NaN or
        infinite input value, or whose probabilities are not finite (a huge finite input can
        overflow inside the model), gets NaN probabilities and class_id ``NO_CLASS``
        instead of a silent class. The cast keeps the signature float32 for models trained
        under a mixed precision policy.
        """
        import tensorflow as tf  # on first use: the task's other parts need no TensorFlow

        probabilities = tf.cast(outputs, tf.float32)
        rows = tf.reshape(inputs, [tf.shape(inputs)[0], -1])
        valid = tf.logical_and(tf.reduce_all(tf.math.is_finite(rows), axis=1),
                               tf.reduce_all(tf.math.is_finite(probabilities), axis=1))
        if decision is None:
            chosen = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        else:
            positive = int(decision["positive_class_id"])
            hit = probabilities[:, positive] >= tf.constant(decision["threshold"], tf.float32)
            chosen = tf.where(hit, tf.constant(positive, tf.int64),
                              tf.constant(1 - positive, tf.int64))
        class_id = tf.where(valid, chosen, tf.constant(NO_CLASS, tf.int64))
        probabilities = tf.where(valid[:, None], probabilities, float("nan"))
        return {"probabilities": probabilities, "class_id": class_id}

    def serving_decision(self, setting, eval_cfg, run_dir, spec):
        """Binary tasks: the threshold ``export.threshold`` chooses (``threshold.py``);
        None (argmax) for more classes."""
        from bigmodel_tf.tasks.classification.threshold import serving_threshold

        return serving_threshold(setting, eval_cfg, run_dir, spec.class_names)

    def tflite_check(self, reference, candidate, labels):
        """Top-1 match rate and max abs difference of the probabilities, and the number of
        distinct classes each predicts (an int8 model stuck on one class is the sign of a
        bad representative data set, docs/architecture.md)."""
        match = float(np.mean(candidate.argmax(axis=1) == reference.argmax(axis=1)))
        return {
            "top1_match": match,
            "max_abs_diff": float(np.max(np.abs(candidate - reference))),
            "predicted_classes": int(len(np.unique(candidate.argmax(axis=1)))),
            "reference_predicted_classes": int(len(np.unique(reference.argmax(axis=1)))),
            "within_tolerance": match >= PARITY_TOLERANCE,
        }
