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
    def baselines(self, splits, eval_cfg, seed: int, class_weight: str = "none") -> list[dict]:
        """scikit-learn baselines fitted on train, scored like the network on val and test
        (``class_weight``: data.imbalance.class_weight; tasks without classes ignore it)."""

    @abc.abstractmethod
    def serving_outputs(self, outputs, spec) -> dict:
        """The TF Serving signature's outputs (name -> tensor) from the model's outputs."""

    @abc.abstractmethod
    def tflite_check(self, reference: np.ndarray, candidate: np.ndarray,
                     labels: np.ndarray) -> dict[str, Any]:
        """How a converted model's outputs compare with the float model's and the labels."""

    # ---- Evaluation: diagnosis, data summary, report and summaries (tasks-eval) ----
    # summary_keys: the split-metric keys of sub-run tables (CV, data size), baselines and
    # report summaries, headline first; metric_labels: their names in tables and figures.
    summary_keys: tuple[str, ...]
    metric_labels: dict[str, str]

    @abc.abstractmethod
    def fit_scores(self, metrics: dict, eval_cfg) -> dict[str, Any]:
        """The fit diagnosis' reading of the train and val split metrics: ``train`` and
        ``val`` (the headline), ``gap`` (how much worse val is), and ``underfit`` /
        ``overfit`` (the reason in words when that rule fires, else None), ``fits`` (why
        neither fired)."""

    @abc.abstractmethod
    def data_summary(self, splits) -> dict[str, Any]:
        """metrics.json ``data``: split sizes and the label distribution per split."""

    @abc.abstractmethod
    def analyses(self, labels: dict[str, np.ndarray], outputs: dict[str, np.ndarray], spec,
                 eval_cfg, run_dir) -> dict[str, Any]:
        """Task-only analyses of the outputs (e.g. the binary decision threshold): extra
        metrics.json entries; may write files into ``run_dir``."""

    @abc.abstractmethod
    def report_sections(self, result: dict, spec, eval_cfg) -> list[str]:
        """report.md's task sections (data, metrics, task analyses) as markdown blocks."""

    @abc.abstractmethod
    def output_histograms(self, outputs: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
        """TensorBoard histograms of one split's outputs: name -> (values, description)."""

    @abc.abstractmethod
    def importance_scores(self, outputs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        """Permutation importance's scores of [repeats, n, ...] outputs: ``loss`` and the
        headline, one value per repeat, and ``loss_name`` (how the loss is called)."""
