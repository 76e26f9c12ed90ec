"""The evaluation stage: ``evaluate(cfg, run_dir, model, splits, ...) -> dict``.

Called by the experiments layer after training and by ``bigmodel evaluate``. Reads the
trained model, the data splits, the run's history.csv and the metrics of its finished
sub-runs (cross-validation folds, data-size fractions: ``SubRuns``; it trains nothing);
writes plots/*.png, report.md,
model_summary.txt, threshold.json (binary tasks), cv.csv (cross-validation) and a
TensorBoard run ``tensorboard/evaluation``; returns the metrics.json content it owns:
the per-split metrics (the keys and more), ``diagnosis`` and the analyses behind
the report (fit, threshold, baselines, interpretation, data-size curve, cross-validation).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from bigmodel_tf.evaluation import figures_metrics as fm
from bigmodel_tf.evaluation import figures_training as ft
from bigmodel_tf.evaluation import threshold as th
from bigmodel_tf.evaluation.baselines import run_baselines
from bigmodel_tf.evaluation.calibration import reliability_bins
from bigmodel_tf.evaluation.cv import cross_validation
from bigmodel_tf.evaluation.data_size import data_size_curve
from bigmodel_tf.evaluation.diagnosis import diagnose
from bigmodel_tf.evaluation.interpret import run_interpretation
from bigmodel_tf.evaluation.metrics import SPLIT_NAMES, classification_metrics, predict_splits
from bigmodel_tf.evaluation.plots import save_figure
from bigmodel_tf.evaluation.report import render_report, write_report
from bigmodel_tf.evaluation.subruns import NO_SUBRUNS, SubRuns
from bigmodel_tf.evaluation.tensorboard_logging import log_evaluation
from bigmodel_tf.history import read_history
from bigmodel_tf.tasks import get_task

log = logging.getLogger("bigmodel_tf.evaluation")
PLOTS = "plots"
# metrics.json entries this stage writes (the training stage's facts add epochs_run and the rest)
EVALUATION_KEYS = (*SPLIT_NAMES, "diagnosis", "fit", "data", "threshold", "baselines",
                   "interpretation", "data_size_curve", "cv", "figures")


def data_summary(splits) -> dict:
    """Split sizes and class counts per split, and the train split's imbalance ratio."""
    names = splits.spec.class_names
    counts = {s: dict(zip(names, np.bincount(getattr(splits, s).y, minlength=len(names))
                          .tolist(), strict=True)) for s in SPLIT_NAMES}
    train = [c for c in counts["train"].values() if c > 0]
    return {"split_sizes": {s: len(getattr(splits, s).y) for s in SPLIT_NAMES},
            "class_counts": counts, "imbalance_ratio": max(train) / min(train)}


class _Figures:
    """Saves figures under run_dir/plots and remembers their paths relative to run_dir."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.paths: dict[str, str] = {}

    def save(self, name: str, fig) -> None:
        """Write ``fig`` as plots/<name>.png."""
        save_figure(fig, self.run_dir / PLOTS / f"{name}.png")
        self.paths[name] = f"{PLOTS}/{name}.png"

    def add(self, name: str, relative: str) -> None:
        """Record a PNG another module wrote (path relative to the run directory)."""
        self.paths[name] = relative


def _prediction_figures(figs: _Figures, cfg, spec, labels: dict, probs: dict,
                        metrics: dict, positive: int) -> None:
    """Confusion matrices (every split), ROC, PR and the reliability diagram (test)."""
    for split in SPLIT_NAMES:
        figs.save(f"confusion_matrix_{split}", fm.confusion_matrix_figure(
            metrics[split]["confusion_matrix"], spec.class_names, split))
    y, p = labels["test"], probs["test"]
    figs.save("roc", fm.roc_figure(y, p, spec.class_names, "test", positive))
    figs.save("pr", fm.pr_figure(y, p, spec.class_names, "test", positive))
    bins = reliability_bins(y, p, cfg.evaluation.calibration_bins)
    figs.save("reliability", fm.reliability_figure(bins, metrics["test"]["ece"], "test"))


def _threshold(figs: _Figures, cfg, spec, labels: dict, probs: dict, run_dir: Path) -> dict:
    """Tune the binary decision threshold on val, save threshold.json and its figure."""
    report = th.threshold_report(probs, labels, cfg, spec.class_names)
    th.write_threshold(report, run_dir)
    positive = report["positive_class_id"]
    curve = th.threshold_curve(labels["val"] == positive, probs["val"][:, positive])
    figs.save("threshold", fm.threshold_figure(curve, report["value"], th.DEFAULT_THRESHOLD,
                                               report["objective"], report["positive_class"]))
    return report


def _analyses(figs: _Figures, cfg, model, splits, run_dir: Path, result: dict,
              subruns: SubRuns) -> None:
    """Baselines and interpretation as configured; data-size curve and cross-validation
    of the sub-runs given."""
    e = cfg.evaluation
    if e.baselines:
        result["baselines"] = run_baselines(splits, cfg)
        fitted = [{"name": "this network", "test": result["test"]},
                  *(r for r in result["baselines"] if "test" in r)]
        figs.save("baselines", ft.baselines_figure(fitted))
    if e.interpret:
        result["interpretation"] = run_interpretation(model, cfg, splits, run_dir,
                                                      run_dir / PLOTS)
        for name, path in result["interpretation"]["figures"].items():
            figs.add(name, path)
    if subruns.fractions:
        result["data_size_curve"] = data_size_curve(subruns.fractions, cfg.data.train_fraction,
                                                    result)
        figs.save("data_size", ft.data_size_figure(result["data_size_curve"]["points"]))
    if subruns.folds:
        result["cv"] = cross_validation(subruns.folds, run_dir)
        figs.save("cv", ft.cv_figure(result["cv"]["per_fold"]))


def evaluate(
    cfg, run_dir: Path, model, splits, history: dict | None = None,
    fit_metrics: dict | None = None, subruns: SubRuns = NO_SUBRUNS,
) -> dict:
    """Evaluate ``model`` on ``splits`` into ``run_dir``; return its metrics.json entries.

    ``history`` (history.csv columns) defaults to the run directory's own history.csv;
    ``fit_metrics`` (train/val metrics of the training data) to these splits' metrics: the
    fit diagnosis is about the data the model was trained on. ``subruns``: the run's
    finished cross-validation folds and data-size fractions, summarized here.
    """
    spec, figs = splits.spec, _Figures(run_dir)
    history = read_history(run_dir / "history.csv") if history is None else history
    labels = {s: getattr(splits, s).y for s in SPLIT_NAMES}
    if spec.task != "classification":  # the split metrics only, until tasks-eval's stage
        task, outputs = get_task(spec.task), predict_splits(model, splits)
        return {s: task.split_metrics(labels[s], outputs[s], spec, cfg.evaluation)
                for s in SPLIT_NAMES}
    positive = th.positive_index(cfg, spec.class_names) if spec.num_classes == 2 else 1
    probs = predict_splits(model, splits)
    result: dict = {s: classification_metrics(labels[s], probs[s], spec.class_names,
                                              cfg.evaluation.calibration_bins, positive)
                    for s in SPLIT_NAMES}
    fit = diagnose(fit_metrics or result, history, cfg, spec.kind)
    result.update({"diagnosis": fit["label"], "fit": fit, "data": data_summary(splits)})
    log.info("evaluation: test accuracy %.4f; diagnosis %s", result["test"]["accuracy"],
             fit["label"])
    figs.save("class_balance", ft.class_balance_figure(result["data"]["class_counts"],
                                                       spec.class_names))
    _prediction_figures(figs, cfg, spec, labels, probs, result, positive)
    if spec.num_classes == 2:
        result["threshold"] = _threshold(figs, cfg, spec, labels, probs, run_dir)
    if history.get("loss"):
        figs.save("learning_curves", ft.learning_curves_figure(history, fit["label"]))
    _analyses(figs, cfg, model, splits, run_dir, result, subruns)
    result["figures"] = figs.paths
    context = {"name": cfg.run_name or run_dir.name, "parameters": int(model.count_params()),
               "epochs_run": len(history.get("loss", []))}
    report = render_report(cfg, spec, result, context)
    write_report(report, run_dir)
    summary = run_dir / "model_summary.txt"
    log_evaluation(run_dir / "tensorboard" / "evaluation", model, result, probs,
                   {name: run_dir / rel for name, rel in figs.paths.items()}, report,
                   summary.read_text(encoding="utf-8") if summary.exists() else None,
                   step=max(context["epochs_run"] - 1, 0))  # the last epoch's step
    return result
