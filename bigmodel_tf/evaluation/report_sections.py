"""Analytical sections of report.md: baselines, diagnosis, data size, CV, interpretation.

Each function takes the run's task (its headline and metric labels) and the evaluation
result dict (what goes into metrics.json) and returns one markdown section.
"""

from __future__ import annotations

from bigmodel_tf.evaluation.diagnosis import set_command
from bigmodel_tf.markdown import figure, fmt, join, table


def _better(task, a: float, b: float) -> float:
    """How much better score ``a`` is than ``b`` in the task's headline direction."""
    return a - b if task.direction == "max" else b - a


def baselines_section(task, result: dict) -> str:
    """The network beside the scikit-learn baselines on the same test split."""
    rows = result.get("baselines")
    if not rows:
        return join("## Baselines", "No baselines were run (`evaluation.baselines=[]`).")
    keys, labels, h = task.summary_keys[:4], task.metric_labels, task.headline
    fitted = [r for r in rows if "test" in r]
    body = [["**this network**", *(result["test"].get(k) for k in keys), "–", "–"]]
    body += [[r["name"], *(r["test"].get(k) for k in keys), f"{r['fit_seconds']:.1f}",
              ", ".join(f"{k}={v}" for k, v in r["best_params"].items())] for r in fitted]
    body += [[r["name"], "skipped", r["skipped"], *[""] * len(keys)] for r in rows
             if "skipped" in r]
    text = ""
    if fitted:
        best = max(fitted, key=lambda r: _better(task, r["test"][h], 0.0))
        margin = _better(task, result["test"][h], best["test"][h])
        text = (f"The network's test {labels[h]} is {result['test'][h]:.4f} against "
                f"{best['test'][h]:.4f} for the best baseline ({best['name']}), "
                f"{margin:+.4f} in the network's favour: "
                + ("the network is worth it." if margin > 0 else
                   "a classical model does as well or better here."))
    searched = next((k[3:] for r in fitted for k in r if k.startswith("cv_")), None)
    return join(
        "## Baselines",
        "scikit-learn pipelines (standardization + estimator) tuned by a small GridSearchCV "
        f"(3 folds, {labels.get(searched, searched)}) on the same train split, scored on the "
        f"same test split with the same metrics; {fmt(rows[0].get('train_examples'))} train "
        "examples (at most `evaluation.baseline_max_examples`).",
        table(["model", *(f"test {labels[k]}" for k in keys), "fit seconds",
               "best parameters"], body),
        text,
        figure(result["figures"].get("baselines"), "Test scores of the network and the "
               "baselines"),
    )


def _setting(value) -> str:
    """A config value as it is written in --set (0.0001, not 1.0000e-04)."""
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def diagnosis_section(task, result: dict) -> str:
    """Learning curves, the fit diagnosis with its reasons, and advice naming config keys."""
    fit, h = result["fit"], task.headline
    label = task.metric_labels[h]
    reasons = "\n".join(f"- {r}" for r in fit["reasons"])
    if fit["advice"]:
        advice = join(
            "What to change (try one or two at a time):",
            table(["config key", "current", "suggested", "why"],
                  [[f"`{a['key']}`" if a["suggested"] is not None else a["key"],
                    _setting(a["current"]), _setting(a["suggested"]), a["why"]]
                   for a in fit["advice"]]),
            f"For example: `bigmodel train --config config.yaml {set_command(fit['advice'][:3])}`",
        )
    else:
        advice = ("No change is needed for fit. To check how stable these numbers are, run "
                  "`bigmodel train --cv 5`.")
    return join(
        "## Learning curves and fit diagnosis",
        figure(result["figures"].get("learning_curves"), f"Loss and {label} per epoch, train "
               "vs val"),
        f"**Diagnosis: {fit['label']}** (train {label} {fit[f'train_{h}']:.4f}, val "
        f"{label} {fit[f'val_{h}']:.4f}, gap {fit['train_val_gap']:+.4f}).",
        reasons,
        advice,
    )


def data_size_section(task, result: dict) -> str:
    """The learning curve by data size and its verdict (or how to turn it on)."""
    curve = result.get("data_size_curve")
    if not curve:
        return join("## Learning curve by data size", "Not computed: set "
                    "`evaluation.data_size_fractions=[0.25,0.5]` to retrain on 25 % and 50 % "
                    "of the train split and see whether more data would help.")
    h, label = task.headline, task.metric_labels[task.headline]
    rows = [[f"{p['fraction']:.0%}", p["train_examples"], p["train"][h], p["val"][h],
             p["test"][h]] for p in curve["points"]]
    return join(
        "## Learning curve by data size",
        figure(result["figures"].get("data_size"), f"{label[:1].upper() + label[1:]} against "
               "the number of training examples"),
        table(["fraction", "train examples", *(f"{s} {label}" for s in ("train", "val",
                                                                         "test"))], rows),
        f"**Verdict:** {curve['text']}.",
    )


def cv_section(task, result: dict) -> str:
    """The per-fold cross-validation table with mean ± sample std."""
    cv = result.get("cv")
    if not cv:
        return join("## Cross-validation", "Not run: `bigmodel train --cv 5` (or "
                    "`train.cv_folds=5`) trains 5 folds of train+val.")
    h, labels = task.headline, task.metric_labels
    keys = [k for k in task.summary_keys if k in cv["mean"]["val"]]
    header = ["fold", "epochs", *(f"val {labels[k]}" for k in keys), f"test {labels[h]}"]
    rows = [[f"[{f['fold']}]({f['run_dir']}/report.md)", f["epochs_run"],
             *(f["val"][k] for k in keys), f["test"][h]] for f in cv["per_fold"]]
    rows.append(["**mean ± std**", "", *(f"{fmt(cv['mean']['val'][k])} ± "
                                          f"{fmt(cv['std']['val'][k])}" for k in keys),
                 f"{fmt(cv['mean']['test'][h])} ± {fmt(cv['std']['test'][h])}"])
    return join(
        "## Cross-validation",
        f"{cv['folds']} folds of train+val, each trained as the main run is "
        "with its fold as the val split; the test split is the same for every fold. Std is "
        "the sample standard deviation over folds. The table is also in [cv.csv](cv.csv).",
        table(header, rows),
        figure(result["figures"].get("cv"), f"Per-fold val and test {labels[h]}"),
    )


def interpretation_section(result: dict) -> str:
    """Model structure, feature importance, integrated gradients and attention maps."""
    info = result.get("interpretation")
    if not info:
        return join("## Interpretation", "Turned off (`evaluation.interpret=false`).")
    structure = info["structure"]
    blocks = ["## Interpretation", "### Model structure",
              figure(structure["image"], "Layer graph (keras.utils.plot_model)") or
              f"The layer graph was not drawn ({structure['reason']}).",
              f"Layer by layer with parameter counts: [{structure['summary']}]"
              f"({structure['summary']})."]
    if "permutation_importance" in info:
        top = ", ".join(info["permutation_importance"]["top_features"])
        blocks += ["### Permutation feature importance",
                   figure(result["figures"].get("permutation_importance"),
                          f"Increase of the test {info['permutation_importance']['loss_name']}"
                          " when each feature is shuffled"),
                   f"Most important features: {top}."]
    if "integrated_gradients" in info:
        blocks += ["### Integrated gradients",
                   figure(result["figures"].get("integrated_gradients"),
                          "Pixels that raised (red) or lowered (blue) the model's output "
                          "for the predicted class")]
    if "attention" in info:
        blocks.append("### Attention maps")
        blocks += [figure(path, "Attention per layer (rows) and head (columns)")
                   for name, path in info["figures"].items() if name.startswith("attention")]
    return join(*blocks)
