"""The evaluation stage: ``evaluate(cfg, run_dir, model, splits, ...) -> dict``.

Called by the experiments layer after training and by ``bigmodel evaluate``. Reads the
trained model, the data splits, the run's history.csv and the metrics of its finished
sub-runs (cross-validation folds, data-size fractions: ``SubRuns``; it trains nothing);
writes plots/*.png, report.md, model_summary.txt, cv.csv (cross-validation), the task's
own files (threshold.json for binary classification) and a TensorBoard run
``tensorboard/evaluation``; returns the metrics.json content it owns: the per-split
metrics, ``diagnosis`` and the analyses behind the report (fit, the task's analyses,
baselines, interpretation, data-size curve, cross-validation). Everything that depends on
what the labels are is asked of the run's task (``get_task(spec.task)``): its split
metrics, figures, baselines, fit scores and report sections.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bigmodel_tf.data import stream_errors
from bigmodel_tf.evaluation import figures_training as ft
from bigmodel_tf.evaluation.cv import cross_validation
from bigmodel_tf.evaluation.data_size import data_size_curve
from bigmodel_tf.evaluation.diagnosis import diagnose
from bigmodel_tf.evaluation.interpret import run_interpretation
from bigmodel_tf.evaluation.predictions import SPLIT_NAMES, predict_splits
from bigmodel_tf.evaluation.report import render_report, write_report
from bigmodel_tf.evaluation.subruns import NO_SUBRUNS, SubRuns
from bigmodel_tf.evaluation.tensorboard_logging import log_evaluation
from bigmodel_tf.history import read_history
from bigmodel_tf.plots import save_figure
from bigmodel_tf.tasks import get_task

log = logging.getLogger("bigmodel_tf.evaluation")
PLOTS = "plots"
# metrics.json entries this stage writes (the training stage's facts add epochs_run and the rest)
EVALUATION_KEYS = (*SPLIT_NAMES, "diagnosis", "fit", "data", "threshold", "baselines",
                   "interpretation", "data_size_curve", "cv", "figures")


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


def _curve_metric(task, history: dict) -> str:
    """The history column beside the loss in the learning curves: the task's headline if
    Keras tracked it, else the first other metric column."""
    others = [k for k in history if k not in ("loss", "learning_rate") and
              not k.startswith("val_")]
    return task.headline if task.headline in history else (others[0] if others else "loss")


def _analyses(figs: _Figures, cfg, task, model, splits, run_dir: Path, result: dict,
              subruns: SubRuns) -> None:
    """Baselines and interpretation as configured; data-size curve and cross-validation
    of the sub-runs given."""
    e = cfg.evaluation
    if e.baselines:
        result["baselines"] = task.baselines(splits, e, cfg.seed,
                                             class_weight=cfg.data.imbalance.class_weight)
        fitted = [{"name": "this network", "test": result["test"]},
                  *(r for r in result["baselines"] if "test" in r)]
        # an error headline (RMSE) shares its axis only with the error in the same units
        shown = task.summary_keys[:3 if task.direction == "max" else 2]
        figs.save("baselines", ft.baselines_figure(fitted, shown))
    if e.interpret:
        result["interpretation"] = run_interpretation(model, cfg.model, e, cfg.seed, task,
                                                      splits, run_dir, run_dir / PLOTS)
        for name, path in result["interpretation"]["figures"].items():
            figs.add(name, path)
    if subruns.fractions:
        result["data_size_curve"] = data_size_curve(subruns.fractions, cfg.data.train_fraction,
                                                    result)
        figs.save("data_size", ft.data_size_figure(result["data_size_curve"]["points"],
                                                   task.headline))
    if subruns.folds:
        result["cv"] = cross_validation(subruns.folds, run_dir)
        figs.save("cv", ft.cv_figure(result["cv"]["per_fold"], task.headline))


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
    spec, figs, e = splits.spec, _Figures(run_dir), cfg.evaluation
    task = get_task(spec.task)
    history = read_history(run_dir / "history.csv") if history is None else history
    labels = {s: getattr(splits, s).y for s in SPLIT_NAMES}
    with stream_errors(cfg.data):
        outputs = predict_splits(model, splits)
    result: dict = {s: task.split_metrics(labels[s], outputs[s], spec, e) for s in SPLIT_NAMES}
    fit = diagnose(fit_metrics or result, history, cfg, spec.kind, task)
    result.update({"diagnosis": fit["label"], "fit": fit, "data": task.data_summary(splits)})
    log.info("evaluation: test %s %.4f; diagnosis %s", task.headline,
             result["test"][task.headline], fit["label"])
    result.update(task.analyses(labels, outputs, spec, e, run_dir))
    for name, fig in task.figures(labels, outputs, result, spec, e).items():
        figs.save(name, fig)
    if history.get("loss"):
        figs.save("learning_curves", ft.learning_curves_figure(
            history, fit["label"], _curve_metric(task, history),
            task.metric_labels.get("loss", "loss")))
    _analyses(figs, cfg, task, model, splits, run_dir, result, subruns)
    result["figures"] = figs.paths
    context = {"name": cfg.run_name or run_dir.name, "parameters": int(model.count_params()),
               "epochs_run": len(history.get("loss", []))}
    report = render_report(cfg, task, spec, result, context)
    write_report(report, run_dir)
    summary = run_dir / "model_summary.txt"
    histograms = {s: task.output_histograms(outputs[s]) for s in SPLIT_NAMES}
    log_evaluation(run_dir / "tensorboard" / "evaluation", model, result, histograms,
                   {name: run_dir / rel for name, rel in figs.paths.items()}, report,
                   summary.read_text(encoding="utf-8") if summary.exists() else None,
                   step=max(context["epochs_run"] - 1, 0))  # the last epoch's step
    return result
