"""End to end: what `bigmodel train` leaves to read, on digits, breast cancer and a CSV.

These train real (small) models once per session (conftest.py) and check the run
directory: metrics.json (the schema, extended), every PNG the report links to,
report.md's sections, cross-validation, baselines, the decision threshold and TensorBoard.
"""

import csv
import json
import re

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.cli import main

pytestmark = pytest.mark.slow
CORE_SPLIT_KEYS = {"accuracy", "loss", "precision_macro", "recall_macro", "f1_macro",
                     "roc_auc"}
EXTENDED_SPLIT_KEYS = {"f1_weighted", "pr_auc", "ece", "per_class", "confusion_matrix"}
SECTIONS = ("## Configuration", "## Data", "## Metrics", "## Baselines",
            "## Learning curves and fit diagnosis", "## Learning curve by data size",
            "## Cross-validation", "## Interpretation", "## TensorBoard")


def metrics_of(run):
    """A run's metrics.json."""
    return json.loads((run / "metrics.json").read_text())


def event_tags(folder):
    """{tag: plugin name} of every summary in a TensorBoard run folder, and graph presence."""
    tags, graph = {}, False
    for path in folder.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            graph = graph or bool(event.graph_def)
            for value in event.summary.value:
                tags[value.tag] = value.metadata.plugin_data.plugin_name
    return tags, graph


def assert_report_links_exist(run):
    """Every relative link and image of report.md points at a file in the run directory."""
    report = (run / "report.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", report)
    assert links
    for link in links:
        assert (run / link).exists(), link
    return report


def test_digits_run_has_metrics_plots_report_and_tensorboard(digits_run):
    metrics = metrics_of(digits_run)
    for split in ("train", "val", "test"):
        assert set(metrics[split]) >= CORE_SPLIT_KEYS | EXTENDED_SPLIT_KEYS
        assert np.array(metrics[split]["confusion_matrix"]).sum() == metrics[split]["examples"]
    assert metrics["diagnosis"] in ("good_fit", "overfit", "underfit")
    assert metrics["epochs_run"] == 3 and metrics["train_examples_per_sec"] > 0
    assert metrics["fit"]["label"] == metrics["diagnosis"]
    assert "threshold" not in metrics  # multiclass
    plots = {p.name for p in (digits_run / "plots").glob("*.png")}
    assert plots >= {"confusion_matrix_test.png", "confusion_matrix_val.png", "roc.png",
                     "pr.png", "reliability.png", "learning_curves.png", "class_balance.png",
                     "baselines.png", "integrated_gradients.png", "model.png"}
    report = assert_report_links_exist(digits_run)
    for section in SECTIONS:
        assert section in report
    assert "logistic regression" in report and "**Diagnosis:" in report
    assert "integrated_gradients.png" in report

    board = digits_run / "tensorboard"
    evaluation, graph = event_tags(board / "evaluation")
    assert graph  # the op-level inference graph
    assert evaluation["plots/confusion_matrix_test"] == "images"
    assert evaluation["plots/learning_curves"] == "images"
    assert evaluation["report"] == "text" and evaluation["model_summary"] == "text"
    assert evaluation["test/accuracy"] == "scalars"
    assert evaluation["test/confidence"] == "histograms"
    train, _ = event_tags(board / "train")
    assert train["keras"] == "graph_keras_model"  # the layer graph
    assert train["epoch_loss"] == "scalars"
    assert any(t.endswith("histogram") for t in train)
    assert list((board / "train" / "plugins" / "profile").rglob("*.xplane.pb"))


def test_breast_cancer_threshold_baselines_and_data_size(breast_cancer_run):
    metrics = metrics_of(breast_cancer_run)
    threshold = metrics["threshold"]
    assert threshold["positive_class"] == "malignant" and threshold["positive_class_id"] == 0
    assert 0 < threshold["value"] < 1
    assert threshold["val_at_tuned"]["f1"] >= threshold["val_at_default"]["f1"]
    saved = json.loads((breast_cancer_run / "threshold.json").read_text())
    assert saved["value"] == threshold["value"]
    assert metrics["test"]["roc_auc"] > 0.95
    assert [b["key"] for b in metrics["baselines"]] == ["logistic_regression", "svm"]
    assert all(b["test"]["examples"] == metrics["test"]["examples"] for b in metrics["baselines"])
    points = metrics["data_size_curve"]["points"]
    assert [p["fraction"] for p in points] == [0.5, 1.0]
    assert points[0]["train_examples"] < points[1]["train_examples"]
    assert "permutation_importance" in metrics["interpretation"]
    report = assert_report_links_exist(breast_cancer_run)
    assert "## Decision threshold" in report and "**malignant**" in report
    assert "SVM (RBF kernel)" in report and "**Verdict:**" in report
    assert "Most important features:" in report


def test_cv_table_mean_equals_the_mean_of_its_folds(breast_cancer_run):
    cv = metrics_of(breast_cancer_run)["cv"]
    assert cv["folds"] == 3
    folds = [metrics_of(breast_cancer_run / "cv" / f"fold_{k}") for k in range(3)]
    for key in ("accuracy", "f1_macro", "roc_auc", "loss"):
        values = [f["val"][key] for f in folds]
        assert cv["mean"]["val"][key] == pytest.approx(np.mean(values))
        assert cv["std"]["val"][key] == pytest.approx(np.std(values, ddof=1))
        assert [row["val"][key] for row in cv["per_fold"]] == values
    assert len({f["test"]["examples"] for f in folds}) == 1  # the same test split
    val_sizes = [f["val"]["examples"] for f in folds]
    assert sum(val_sizes) == sum(metrics_of(breast_cancer_run)[s]["examples"]
                                 for s in ("train", "val"))
    rows = list(csv.DictReader((breast_cancer_run / "cv.csv").open()))
    assert float(rows[3]["val_accuracy"]) == pytest.approx(cv["mean"]["val"]["accuracy"])
    report = (breast_cancer_run / "report.md").read_text()
    assert f"{cv['mean']['val']['accuracy']:.4f} ± {cv['std']['val']['accuracy']:.4f}" in report


def test_csv_report_names_the_features(csv_run):
    metrics = metrics_of(csv_run)
    names = metrics["interpretation"]["permutation_importance"]["feature_names"]
    assert "alcohol" in names and "cellar=north" in names
    report = assert_report_links_exist(csv_run)
    assert "barolo" in report and "permutation_importance.png" in report


@pytest.mark.parametrize(
    ("overrides", "label"),
    [
        # tiny data (5 % of the train split), a big model, no regularization, long training
        (["data.train_fraction=0.05", "model.width=512", "model.depth=3", "model.dropout=0",
          "model.normalization=none", "train.epochs=30", "train.early_stopping_patience=0"],
         "overfit"),
        # a linear model on digits for one epoch
        (["model.depth=0", "train.epochs=1"], "underfit"),
    ],
    ids=["overfit", "underfit"],
)
def test_overfit_and_underfit_configs_are_diagnosed(tmp_path, overrides, label):
    assert main(["train", "--run-dir", str(tmp_path / "run"), "--set", "model.name=mlp",
                 "export.enabled=false", "train.verbose=0", "train.histogram_freq=0",
                 "evaluation.baselines=[]", "evaluation.interpret=false", *overrides]) == 0
    metrics = metrics_of(tmp_path / "run")
    assert metrics["diagnosis"] == label
    keys = {a["key"] for a in metrics["fit"]["advice"]}
    expected = {"overfit": {"model.dropout", "model.l2", "train.early_stopping_patience"},
                "underfit": {"model.depth", "train.epochs", "train.learning_rate"}}[label]
    assert keys >= expected
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"**Diagnosis: {label}**" in report and "--set" in report
