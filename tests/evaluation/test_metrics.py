"""Metrics and calibration: the numbers of metrics.json against scikit-learn and by hand."""

import numpy as np
import pytest
from sklearn import metrics as skm

from bigmodel_tf.tasks.classification.calibration import (
    expected_calibration_error,
    reliability_bins,
)
from bigmodel_tf.tasks.classification.metrics import classification_metrics

CORE_KEYS = {"accuracy", "loss", "precision_macro", "recall_macro", "f1_macro", "roc_auc"}


@pytest.fixture
def multiclass():
    """300 examples of 3 classes with noisy, informative probabilities."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[y]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


def test_multiclass_metrics_match_scikit_learn(multiclass):
    y, probs = multiclass
    result = classification_metrics(y, probs, ["a", "b", "c"])
    pred = probs.argmax(axis=1)
    assert set(result) >= CORE_KEYS
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert result["loss"] == pytest.approx(skm.log_loss(y, probs), rel=1e-6)
    assert result["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert result["f1_weighted"] == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    assert result["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs, multi_class="ovr"))
    assert 0.5 < result["pr_auc"] <= 1.0
    assert np.array_equal(result["confusion_matrix"], skm.confusion_matrix(y, pred))
    assert set(result["per_class"]) == {"a", "b", "c"}
    assert sum(c["support"] for c in result["per_class"].values()) == 300
    assert result["per_class"]["b"]["recall"] == pytest.approx(
        skm.recall_score(y, pred, labels=[1], average=None)[0])


def test_binary_pr_auc_is_about_the_positive_class():
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.6, 0.2, 0.7, 0.9, 0.4, 0.8, 0.95])
    probs = np.stack([1 - p1, p1], axis=1)
    as_one = classification_metrics(y, probs, ["neg", "pos"], positive=1)
    as_zero = classification_metrics(y, probs, ["neg", "pos"], positive=0)
    assert as_one["pr_auc"] == pytest.approx(skm.average_precision_score(y, p1))
    assert as_zero["pr_auc"] == pytest.approx(skm.average_precision_score(1 - y, 1 - p1))
    assert as_one["roc_auc"] == as_zero["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p1))


def test_a_missing_class_gives_no_auc_and_a_confident_mistake_a_finite_loss():
    y = np.array([0, 0, 1])
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    result = classification_metrics(y, probs)
    assert result["roc_auc"] is None and result["pr_auc"] is None
    assert np.isfinite(result["loss"]) and result["loss"] > 5


def test_ece_by_hand():
    # Two bins used: confidence 0.9 (4 examples, 3 right) and 0.6 (2 examples, both right).
    probs = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    y = np.array([0, 0, 0, 1, 0, 0])
    expected = (4 * abs(0.75 - 0.9) + 2 * abs(1.0 - 0.6)) / 6
    assert expected_calibration_error(y, probs, bins=10) == pytest.approx(expected)
    table = reliability_bins(y, probs, bins=10)
    assert table["counts"].sum() == 6 and table["counts"][8] == 4 and table["counts"][5] == 2
    assert np.isnan(table["accuracy"][0])  # empty bins stay empty


def test_perfectly_calibrated_predictions_have_near_zero_ece():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 200_000)
    correct = rng.uniform(size=confidence.shape) < confidence
    y = np.where(correct, 0, 1)
    probs = np.stack([confidence, 1 - confidence], axis=1)
    assert expected_calibration_error(y, probs, bins=10) < 0.01
