"""The Task interface: everything that depends on what the labels are.

A task owns its head and loss, its compile metrics, its per-split metrics and figures, its
scikit-learn baselines, its fit-diagnosis rules, its serving outputs and its TFLite check
(the model is Model Garden's ``base_task.Task``). The stages stay generic: they ask the
run's task (``get_task(spec.task)``) instead of assuming classification, so a new task is
one module in this package plus its tests.
"""

from __future__ import annotations

import abc
import importlib
from types import ModuleType
from typing import Any

import numpy as np

from bigmodel_tf.errors import ConfigError

SPLITS = ("train", "val", "test")  # the splits every task scores, in report order


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
    def serving_outputs(self, inputs, outputs, spec, decision=None) -> dict:
        """The TF Serving signature's outputs (name -> tensor) from its inputs and the
        model's outputs (a row with a non-finite input gets a NaN or sentinel output),
        applying ``decision`` (``serving_decision``'s rule) where there is one."""

    def serving_decision(self, setting, eval_cfg, run_dir, spec) -> dict | None:
        """The decision rule the serving signature applies, from ``export.threshold``
        (``setting``) and the run's evaluation files; None: the task has none."""
        return None

    @abc.abstractmethod
    def tflite_check(self, reference: np.ndarray, candidate: np.ndarray,
                     labels: np.ndarray) -> dict[str, Any]:
        """How a converted model's outputs compare with the float model's and the labels."""

    # --- tasks-core: the config rules of a task ------------------------------------------
    losses: tuple[str, ...]  # the task.loss values it accepts besides auto; [0] = default
    parity_key: str  # tflite_check's main key (the compression report's parity column)

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

    # ---- Evaluation: each task package's scoring, figures, baselines and report modules ---
    # (imported on first use: building or serving a model needs none of scikit-learn and
    # matplotlib). A new task's package provides the same functions.
    package: str  # e.g. "bigmodel_tf.tasks.regression"

    def _part(self, module: str) -> ModuleType:
        """This task's ``module`` (scoring, figures, baselines, report)."""
        return importlib.import_module(f"{self.package}.{module}")

    @property
    def summary_keys(self) -> tuple[str, ...]:
        """The split-metric keys of sub-run tables (CV, data size), baselines and report
        summaries, headline first (``scoring.SUMMARY_KEYS``)."""
        return self._part("scoring").SUMMARY_KEYS

    @property
    def metric_labels(self) -> dict[str, str]:
        """The names of the split metrics in tables and figures (``scoring.METRIC_LABELS``)."""
        return self._part("scoring").METRIC_LABELS

    def split_metrics(self, labels: np.ndarray, outputs: np.ndarray, spec,
                      eval_cfg) -> dict[str, Any]:
        """One split's metrics.json entry from its labels and the model's outputs."""
        return self._part("scoring").split_metrics(labels, outputs, spec, eval_cfg)

    def fit_scores(self, metrics: dict, eval_cfg) -> dict[str, Any]:
        """The fit diagnosis' reading of the train and val split metrics: ``train`` and
        ``val`` (the headline), ``gap`` (how much worse val is), and ``underfit`` /
        ``overfit`` (the reason in words when that rule fires, else None), ``fits`` (why
        neither fired)."""
        return self._part("scoring").fit_scores(metrics, eval_cfg)

    def data_summary(self, splits) -> dict[str, Any]:
        """metrics.json ``data``: split sizes and the label distribution per split."""
        return self._part("scoring").data_summary(splits)

    def analyses(self, labels: dict[str, np.ndarray], outputs: dict[str, np.ndarray], spec,
                 eval_cfg, run_dir) -> dict[str, Any]:
        """Task-only analyses of the outputs (e.g. the binary decision threshold): extra
        metrics.json entries; may write files into ``run_dir``."""
        return self._part("scoring").analyses(labels, outputs, spec, eval_cfg, run_dir)

    def output_histograms(self, outputs: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
        """TensorBoard histograms of one split's outputs: name -> (values, description)."""
        return self._part("scoring").output_histograms(outputs)

    def importance_scores(self, outputs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        """Permutation importance's scores of [repeats, n, ...] outputs: ``loss`` and the
        headline, one value per repeat, and ``loss_name`` (how the loss is called)."""
        return self._part("scoring").importance_scores(outputs, labels)

    def figures(self, labels: dict[str, np.ndarray], outputs: dict[str, np.ndarray],
                metrics: dict, spec, eval_cfg) -> dict[str, Any]:
        """The task's figures (name -> matplotlib Figure) from every split's outputs."""
        return self._part("figures").figures(labels, outputs, metrics, spec, eval_cfg)

    def baselines(self, splits, eval_cfg, seed: int, class_weight: str = "none") -> list[dict]:
        """scikit-learn baselines fitted on train, scored like the network on val and test
        (``class_weight``: data.imbalance.class_weight; tasks without classes ignore it)."""
        return self._part("baselines").baselines(splits, eval_cfg, seed, class_weight)

    def report_sections(self, result: dict, spec, eval_cfg) -> list[str]:
        """report.md's task sections (data, metrics, task analyses) as markdown blocks."""
        return self._part("report").report_sections(result, spec, eval_cfg)


def regularizer(mc, keras):
    """An L1L2 kernel regularizer from ``model.l1``/``model.l2``, or None when both are 0."""
    if mc.l1 > 0 or mc.l2 > 0:
        return keras.regularizers.L1L2(l1=mc.l1, l2=mc.l2)
    return None
