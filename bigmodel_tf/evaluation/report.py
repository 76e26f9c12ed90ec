"""report.md: a self-contained report a person reads top to bottom.

Reads the config, the data spec and the evaluation result (what goes into metrics.json);
returns markdown with relative links to plots/: summary, configuration, data and class
balance, metrics, decision threshold, baselines, learning curves with the fit diagnosis
and advice, the learning curve by data size, cross-validation, interpretation, and how to
open TensorBoard. ``write_report`` writes it atomically.
"""

from __future__ import annotations

from pathlib import Path

from bigmodel_tf.evaluation import report_sections as sections
from bigmodel_tf.evaluation.metrics import SPLIT_NAMES
from bigmodel_tf.evaluation.report_tables import METRIC_LABELS, figure, fmt, join, table
from bigmodel_tf.io import atomic_write


def _summary(cfg, result: dict, name: str) -> str:
    """Title and the one-paragraph answer: how good, diagnosis, versus the best baseline."""
    test = result["test"]
    fold = (f" (cross-validation fold {cfg.data.cv_fold} of {cfg.data.cv_folds})"
            if cfg.data.cv_folds else "")
    auc = f", ROC-AUC {test['roc_auc']:.4f}" if test["roc_auc"] is not None else ""
    lines = [f"# Evaluation report: {name}{fold}",
             f"**{cfg.model.name}** on **{cfg.data.name}**: test accuracy "
             f"**{test['accuracy']:.4f}**, macro F1 {test['f1_macro']:.4f}{auc}, log loss "
             f"{test['loss']:.4f}; fit diagnosis **{result['fit']['label']}**."]
    if result.get("cv"):
        mean, std = result["cv"]["mean"]["val"]["accuracy"], result["cv"]["std"]["val"]["accuracy"]
        lines.append(f"{result['cv']['folds']}-fold cross-validated accuracy: "
                     f"{mean:.4f} ± {std:.4f}.")
    return join(*lines)


def _configuration(cfg, context: dict) -> str:
    """The settings that matter most, with a pointer to the full config."""
    m, t, d = cfg.model, cfg.train, cfg.data
    rows = [
        ["data", f"`{d.name}`" + (f" ({d.path})" if d.path else "")],
        ["model", f"`{m.name}` width {m.width}, depth {m.depth}, dropout {m.dropout:g}, "
                  f"l2 {m.l2:g}, normalization {m.normalization}"],
        ["parameters", context.get("parameters")],
        ["optimizer", f"{t.optimizer}, learning rate {t.learning_rate:g}, schedule {t.schedule}"],
        ["batch size (per replica)", d.batch_size],
        ["epochs run / max", f"{context.get('epochs_run', '–')} / {t.epochs} (early stopping "
                             f"patience {t.early_stopping_patience or 'off'})"],
        ["class imbalance", f"class_weight {d.imbalance.class_weight}, resample "
                            f"{d.imbalance.resample}"],
        ["precision", cfg.runtime.mixed_precision],
        ["seed", cfg.seed],
    ]
    return join("## Configuration", table(["setting", "value"], rows),
                "The fully resolved config is [config.yaml](config.yaml); "
                "`bigmodel train --config config.yaml` reproduces the run.")


def _data(spec, result: dict) -> str:
    """Shape, classes, split sizes and the class balance per split."""
    info = result["data"]
    counts = info["class_counts"]
    train_total = max(sum(counts["train"].values()), 1)
    rows = [[c, *(counts[s][c] for s in SPLIT_NAMES), f"{counts['train'][c] / train_total:.1%}"]
            for c in spec.class_names]
    rows.append(["**total**", *(sum(counts[s].values()) for s in SPLIT_NAMES), "100%"])
    ratio = info["imbalance_ratio"]
    note = (f"The classes are imbalanced: the largest train class is {ratio:.1f}× the "
            "smallest; look at macro F1, PR-AUC and per-class recall, not only accuracy."
            if ratio >= 1.5 else "The classes are roughly balanced.")
    kind = "images" if spec.kind == "image" else "tabular rows"
    return join(
        "## Data",
        f"{kind} of shape {spec.input_shape}, {spec.num_classes} classes"
        + (f", {len(spec.feature_names)} features" if spec.feature_names else "") + ".",
        table(["class", *SPLIT_NAMES, "train share"], rows),
        note,
        figure(result["figures"].get("class_balance"), "Examples per class in each split"),
    )


def _metrics(cfg, spec, result: dict) -> str:
    """Metrics per split, per-class test metrics, confusion matrix, ROC, PR, calibration."""
    rows = [[label, *(result[s].get(key) for s in SPLIT_NAMES)]
            for key, label in METRIC_LABELS.items()]
    per_class = result["test"]["per_class"]
    class_rows = [[c, per_class[c]["precision"], per_class[c]["recall"], per_class[c]["f1"],
                   per_class[c]["support"]] for c in spec.class_names]
    figures = result["figures"]
    others = ", ".join(f"[{s}]({figures[f'confusion_matrix_{s}']})" for s in ("train", "val")
                       if f"confusion_matrix_{s}" in figures)
    ece = result["test"]["ece"]
    return join(
        "## Metrics",
        "Computed with scikit-learn from the model's probabilities (ROC-AUC and PR-AUC: "
        "positive class for binary tasks, one-vs-rest macro for multiclass).",
        table(["metric", *SPLIT_NAMES], rows),
        "### Per class (test split)",
        table(["class", "precision", "recall", "F1", "support"], class_rows),
        "### Confusion matrix",
        figure(figures.get("confusion_matrix_test"), "Confusion matrix of the test split"),
        f"The same for the other splits: {others}." if others else "",
        "### ROC and precision–recall curves",
        figure(figures.get("roc"), "ROC curve (test split)"),
        figure(figures.get("pr"), "Precision–recall curve (test split)"),
        "### Calibration",
        f"Expected calibration error on the test split: **{fmt(ece)}** (0 means the predicted "
        "confidences match the observed accuracies; "
        f"`evaluation.calibration_bins` = {cfg.evaluation.calibration_bins}).",
        figure(figures.get("reliability"), "Reliability diagram (test split)"),
    )


def _tensorboard() -> str:
    """How to see the same numbers and figures in TensorBoard."""
    return join("## TensorBoard", "Scalars (learning curves, learning rate, evaluation "
                "metrics), histograms, these figures as images, this report as text and the "
                "graph: `tensorboard --logdir tensorboard --host 127.0.0.1` from this folder.")


def render_report(cfg, spec, result: dict, context: dict) -> str:
    """The whole report.md for a run (``context``: run name, parameters, epochs run)."""
    return join(
        _summary(cfg, result, context.get("name", "run")),
        _configuration(cfg, context),
        _data(spec, result),
        _metrics(cfg, spec, result),
        sections.threshold_section(result),
        sections.baselines_section(result),
        sections.diagnosis_section(result),
        sections.data_size_section(result),
        sections.cv_section(result),
        sections.interpretation_section(result),
        _tensorboard(),
    ) + "\n"


def write_report(text: str, run_dir: Path) -> Path:
    """Write report.md into the run directory (atomically)."""
    return atomic_write(run_dir / "report.md", text)
