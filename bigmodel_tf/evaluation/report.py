"""report.md: a self-contained report a person reads top to bottom.

Reads the config, the run's task, the data spec and the evaluation result (what goes into
metrics.json); returns markdown with relative links to plots/: summary, configuration, the
task's sections (data, metrics and its own analyses, e.g. the decision threshold),
baselines, learning curves with the fit diagnosis and advice, the learning curve by data
size, cross-validation, interpretation, and how to open TensorBoard. ``write_report``
writes it atomically.
"""

from __future__ import annotations

from pathlib import Path

from bigmodel_tf.config import DataConfig
from bigmodel_tf.evaluation import report_sections as sections
from bigmodel_tf.io import atomic_write
from bigmodel_tf.markdown import join, table


def _summary(data: DataConfig, model_name: str, task, result: dict, name: str) -> str:
    """Title and the one-paragraph answer: how good, diagnosis, versus the best baseline."""
    test, labels = result["test"], task.metric_labels
    fold = (f" (cross-validation fold {data.cv_fold} of {data.cv_folds})"
            if data.cv_folds else "")
    others = "".join(f", {labels[k]} {test[k]:.4f}" for k in task.summary_keys[1:4]
                     if test.get(k) is not None)
    lines = [f"# Evaluation report: {name}{fold}",
             f"**{model_name}** on **{data.name}**: test {labels[task.headline]} "
             f"**{test[task.headline]:.4f}**{others}; fit diagnosis "
             f"**{result['fit']['label']}**."]
    if result.get("cv"):
        mean = result["cv"]["mean"]["val"][task.headline]
        std = result["cv"]["std"]["val"][task.headline]
        lines.append(f"{result['cv']['folds']}-fold cross-validated {labels[task.headline]}: "
                     f"{mean:.4f} ± {std:.4f}.")
    return join(*lines)


def _configuration(cfg, result: dict, context: dict) -> str:
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
    ]
    if "class_counts" in result["data"]:
        rows.append(["class imbalance", f"class_weight {d.imbalance.class_weight}, resample "
                                        f"{d.imbalance.resample}"])
    rows += [["precision", cfg.runtime.mixed_precision], ["seed", cfg.seed]]
    return join("## Configuration", table(["setting", "value"], rows),
                "The fully resolved config is [config.yaml](config.yaml); "
                "`bigmodel train --config config.yaml` reproduces the run.")


def _tensorboard() -> str:
    """How to see the same numbers and figures in TensorBoard."""
    return join("## TensorBoard", "Scalars (learning curves, learning rate, evaluation "
                "metrics), histograms, these figures as images, this report as text and the "
                "graph: `tensorboard --logdir tensorboard --host 127.0.0.1` from this folder.")


def render_report(cfg, task, spec, result: dict, context: dict) -> str:
    """The whole report.md for a run (``context``: run name, parameters, epochs run)."""
    return join(
        _summary(cfg.data, cfg.model.name, task, result, context.get("name", "run")),
        _configuration(cfg, result, context),
        *task.report_sections(result, spec, cfg.evaluation),
        sections.baselines_section(task, result),
        sections.diagnosis_section(task, result),
        sections.data_size_section(task, result),
        sections.cv_section(task, result),
        sections.interpretation_section(result),
        _tensorboard(),
    ) + "\n"


def write_report(text: str, run_dir: Path) -> Path:
    """Write report.md into the run directory (atomically)."""
    return atomic_write(run_dir / "report.md", text)
