"""Analytical sections of report.md: threshold, baselines, diagnosis, data size, CV, interpretation.

Each function takes the evaluation result dict (what goes into metrics.json) and returns
one markdown section.
"""

from __future__ import annotations

from bigmodel_tf.evaluation.diagnosis import set_command
from bigmodel_tf.evaluation.report_tables import SHORT_LABELS, figure, fmt, join, table
from bigmodel_tf.evaluation.subruns import SUMMARY_METRICS
from bigmodel_tf.evaluation.threshold import DEFAULT_THRESHOLD


def threshold_section(result: dict) -> str:
    """Default 0.5 vs the val-tuned decision threshold, on val and test."""
    t = result.get("threshold")
    if not t:
        return ""
    goal = (f"the best precision at recall ≥ {t['target_recall']:g}" if t["objective"] ==
            "recall" else "the best F1")
    rows = [[f"{name} ({value:.3f})", split, *(t[f"{split}_at_{name}"][k] for k in
                                              ("accuracy", "precision", "recall", "f1"))]
            for name, value in (("default", DEFAULT_THRESHOLD), ("tuned", t["value"]))
            for split in ("val", "test")]
    k = t["positive_class_id"]
    usage = (f"A serving client predicts **{t['positive_class']}** when its probability "
             f"(`probabilities[:, {k}]`) is at least **{t['value']:.4f}**, else the other "
             "class; the value is saved in [threshold.json](threshold.json), and "
             "`bigmodel_tf.evaluation.threshold.apply_threshold(probabilities, threshold, "
             f"positive={k})` does it in Python.")
    return join(
        "## Decision threshold",
        f"Tuned on the val split for {goal} (`evaluation.threshold_objective`), scored on "
        f"val and test beside the default {DEFAULT_THRESHOLD}. Precision, recall and F1 are "
        f"those of the positive class **{t['positive_class']}**.",
        table(["threshold", "split", "accuracy", "precision", "recall", "F1"], rows),
        usage,
        figure(result["figures"].get("threshold"), "Precision, recall and F1 against the "
               "decision threshold (val split)"),
    )


def baselines_section(result: dict) -> str:
    """The network beside the scikit-learn baselines on the same test split."""
    rows = result.get("baselines")
    if not rows:
        return join("## Baselines", "No baselines were run (`evaluation.baselines=[]`).")
    network = {"name": "this network", "test": result["test"]}
    fitted = [r for r in rows if "test" in r]
    body = [["**this network**", *(result["test"][k] for k in ("accuracy", "f1_macro",
                                                                 "roc_auc", "loss")), "–", "–"]]
    body += [[r["name"], *(r["test"][k] for k in ("accuracy", "f1_macro", "roc_auc", "loss")),
              f"{r['fit_seconds']:.1f}",
              ", ".join(f"{k}={v}" for k, v in r["best_params"].items())] for r in fitted]
    body += [[r["name"], "skipped", r["skipped"], "", "", "", ""] for r in rows
             if "skipped" in r]
    text = ""
    if fitted:
        best = max(fitted, key=lambda r: r["test"]["accuracy"])
        margin = network["test"]["accuracy"] - best["test"]["accuracy"]
        text = (f"The network's test accuracy is {margin:+.4f} against the best baseline "
                f"({best['name']}, {best['test']['accuracy']:.4f}): "
                + ("the network is worth it." if margin > 0 else
                   "a classical model does as well or better here."))
    return join(
        "## Baselines",
        "scikit-learn pipelines (standardization + classifier) tuned by a small GridSearchCV "
        "(3 stratified folds, macro F1) on the same train split, scored on the same test "
        f"split with the same metrics; {fmt(rows[0].get('train_examples'))} train examples "
        "(at most `evaluation.baseline_max_examples`).",
        table(["model", "test accuracy", "F1 (macro)", "ROC-AUC", "log loss", "fit seconds",
               "best parameters"], body),
        text,
        figure(result["figures"].get("baselines"), "Test scores of the network and the "
               "baselines"),
    )


def _setting(value) -> str:
    """A config value as it is written in --set (0.0001, not 1.0000e-04)."""
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def diagnosis_section(result: dict) -> str:
    """Learning curves, the fit diagnosis with its reasons, and advice naming config keys."""
    fit = result["fit"]
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
        figure(result["figures"].get("learning_curves"), "Loss and accuracy per epoch, train "
               "vs val"),
        f"**Diagnosis: {fit['label']}** (train accuracy {fit['train_accuracy']:.4f}, val "
        f"accuracy {fit['val_accuracy']:.4f}, gap {fit['train_val_gap']:+.4f}).",
        reasons,
        advice,
    )


def data_size_section(result: dict) -> str:
    """The learning curve by data size and its verdict (or how to turn it on)."""
    curve = result.get("data_size_curve")
    if not curve:
        return join("## Learning curve by data size", "Not computed: set "
                    "`evaluation.data_size_fractions=[0.25,0.5]` to retrain on 25 % and 50 % "
                    "of the train split and see whether more data would help.")
    rows = [[f"{p['fraction']:.0%}", p["train_examples"], p["train"]["accuracy"],
             p["val"]["accuracy"], p["test"]["accuracy"]] for p in curve["points"]]
    return join(
        "## Learning curve by data size",
        figure(result["figures"].get("data_size"), "Accuracy against the number of training "
               "examples"),
        table(["fraction", "train examples", "train accuracy", "val accuracy",
               "test accuracy"], rows),
        f"**Verdict:** {curve['text']}.",
    )


def cv_section(result: dict) -> str:
    """The per-fold cross-validation table with mean ± sample std."""
    cv = result.get("cv")
    if not cv:
        return join("## Cross-validation", "Not run: `bigmodel train --cv 5` (or "
                    "`train.cv_folds=5`) trains 5 stratified folds of train+val.")
    keys = [k for k in SUMMARY_METRICS if k != "precision_macro"]
    header = ["fold", "epochs", *(f"val {SHORT_LABELS[k]}" for k in keys), "test accuracy"]
    rows = [[f"[{f['fold']}]({f['run_dir']}/report.md)", f["epochs_run"],
             *(f["val"][k] for k in keys), f["test"]["accuracy"]] for f in cv["per_fold"]]
    rows.append(["**mean ± std**", "", *(f"{fmt(cv['mean']['val'][k])} ± "
                                          f"{fmt(cv['std']['val'][k])}" for k in keys),
                 f"{fmt(cv['mean']['test']['accuracy'])} ± {fmt(cv['std']['test']['accuracy'])}"])
    return join(
        "## Cross-validation",
        f"{cv['folds']} stratified folds of train+val, each trained as the main run is "
        "with its fold as the val split; the test split is the same for every fold. Std is "
        "the sample standard deviation over folds. The table is also in [cv.csv](cv.csv).",
        table(header, rows),
        figure(result["figures"].get("cv"), "Per-fold val and test accuracy"),
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
                          "Increase of the test log loss when each feature is shuffled"),
                   f"Most important features: {top}."]
    if "integrated_gradients" in info:
        blocks += ["### Integrated gradients",
                   figure(result["figures"].get("integrated_gradients"),
                          "Pixels that raised (red) or lowered (blue) the predicted class's "
                          "probability")]
    if "attention" in info:
        blocks.append("### Attention maps")
        blocks += [figure(path, "Attention per layer (rows) and head (columns)")
                   for name, path in info["figures"].items() if name.startswith("attention")]
    return join(*blocks)
