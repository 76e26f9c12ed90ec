"""The Task interface: everything that depends on what the labels are.

A task owns its head and loss, its compile metrics, its per-split metrics and figures, its
scikit-learn baselines, its fit-diagnosis rules, its serving outputs and its TFLite check
(the model is Model Garden's ``base_task.Task``). The stages stay generic: they ask the
run's task (``get_task(spec.task)``) instead of assuming classification, so a new task is
one module in this package plus its tests.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from bigmodel_tf.errors import ConfigError


class Task(abc.ABC):
    """One kind of supervised problem (classification, regression, ...)."""

    name: str  # the value of task.name and of DataSpec.task
    headline: str  # the metrics.json key of a split's main score ("accuracy", "rmse")
    direction: str  # "max" or "min": which way the headline improves
    label_dtype: str  # dtype of the label arrays and tensors ("int32", "float32")

    @abc.abstractmethod
    def head(self, x, spec, model_cfg, keras):
        """The model's output from the last hidden tensor ``x``: float32, named ``predictions``."""

    @abc.abstractmethod
    def loss(self, task_cfg, keras):
        """The Keras loss of ``task.loss`` (``auto`` = this task's default)."""

    @abc.abstractmethod
    def compile_metrics(self, keras) -> list:
        """Keras metrics tracked while training (history.csv columns)."""

    @abc.abstractmethod
    def split_metrics(self, labels: np.ndarray, outputs: np.ndarray, spec,
                      eval_cfg) -> dict[str, Any]:
        """One split's metrics.json entry from its labels and the model's outputs."""

    @abc.abstractmethod
    def figures(self, labels: dict[str, np.ndarray], outputs: dict[str, np.ndarray],
                metrics: dict, spec, eval_cfg) -> dict[str, Any]:
        """The task's figures (name -> matplotlib Figure) from every split's outputs."""

    @abc.abstractmethod
    def baselines(self, splits, eval_cfg, seed: int) -> list[dict]:
        """scikit-learn baselines fitted on train, scored like the network on val and test."""

    @abc.abstractmethod
    def serving_outputs(self, inputs, outputs, spec) -> dict:
        """The TF Serving signature's outputs (name -> tensor) from its inputs and the
        model's outputs (a row with a non-finite input gets a NaN or sentinel output)."""

    @abc.abstractmethod
    def tflite_check(self, reference: np.ndarray, candidate: np.ndarray,
                     labels: np.ndarray) -> dict[str, Any]:
        """How a converted model's outputs compare with the float model's and the labels."""

    # --- tasks-core: the config rules of a task ------------------------------------------
    losses: tuple[str, ...]  # the task.loss values it accepts besides auto; [0] = default
    # compression report: two split metrics (the headline first), tflite_check's main key
    summary_metrics: tuple[str, str]
    parity_key: str

    def loss_name(self, task_cfg) -> str:
        """The concrete ``task.loss`` (``auto`` is this task's default)."""
        return self.losses[0] if task_cfg.loss == "auto" else task_cfg.loss

    def check_config(self, task_cfg, data_cfg, train_cfg) -> None:
        """Raise ConfigError naming a key whose value does not fit this task."""
        if task_cfg.loss not in ("auto", *self.losses):
            raise ConfigError(
                f"task.loss={task_cfg.loss}: expected auto or {' or '.join(self.losses)} "
                f"for {self.name}"
            )


def regularizer(mc, keras):
    """An L1L2 kernel regularizer from ``model.l1``/``model.l2``, or None when both are 0."""
    if mc.l1 > 0 or mc.l2 > 0:
        return keras.regularizers.L1L2(l1=mc.l1, l2=mc.l2)
    return None
