"""Regression evaluation: metrics against scikit-learn, figures, tuned baselines, the fit
diagnosis, and the whole evaluation stage on a small trained Keras regressor."""

import json

import keras
import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_friedman1

from bigmodel_tf.config import load_config
from bigmodel_tf.data import ArraySplit, Splits
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.evaluation.data_size import verdict
from bigmodel_tf.evaluation.diagnosis import diagnose
from bigmodel_tf.evaluation.stage import evaluate
from bigmodel_tf.tasks import get_task
from bigmodel_tf.tasks.regression import figures as rf
from bigmodel_tf.tasks.regression.baselines import baselines
from bigmodel_tf.tasks.regression.scoring import split_metrics
from tests.evaluation.test_figures import assert_readable

REGRESSION = get_task("regression")


def friedman_splits(n: int, seed: int = 0) -> Splits:
    """Friedman #1 (noise 1) cut 60/20/20, as the data stage would hand it over."""
    x, y = make_friedman1(n, noise=1.0, random_state=seed)
    x, y = x.astype("float32"), y.astype("float32")
    cut = [int(0.6 * n), int(0.8 * n)]
    parts = np.split(np.arange(n), cut)
    spec = DataSpec("tabular", [x.shape[1]], [], feature_names=[f"x{i}" for i in range(10)],
                    mean=x[parts[0]].mean(0).tolist(), variance=x[parts[0]].var(0).tolist())
    spec.task = "regression"
    return Splits(spec, *(ArraySplit(x[i], y[i]) for i in parts))


def test_split_metrics_match_scikit_learn():
    y = np.array([3.0, -0.5, 2.0, 7.0, 4.2])
    pred = np.array([2.5, 0.0, 2.0, 8.0, 3.9])
    result = split_metrics(y, pred[:, None])  # the model's [n, 1] outputs
    assert result["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert result["mse"] == pytest.approx(skm.mean_squared_error(y, pred))
    assert result["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert result["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert result["examples"] == 5


def test_figures_are_readable(tmp_path):
    rng = np.random.default_rng(0)
    labels = {s: rng.normal(size=n) for s, n in (("train", 300), ("val", 100), ("test", 100))}
    outputs = {s: (y + rng.normal(0, 0.3, len(y)))[:, None] for s, y in labels.items()}
    metrics = {s: split_metrics(labels[s], outputs[s]) for s in labels}
    figures = rf.figures(labels, outputs, metrics)
    assert set(figures) == {"label_distribution", "predicted_vs_true", "residuals"}
    for fig in figures.values():
        assert_readable(fig, tmp_path)


def test_baselines_are_tuned_on_train_and_scored_on_val_and_test():
    splits = friedman_splits(400)
    cfg = load_config(None, ["evaluation.baselines=[ridge,gradient_boosting]"])
    rows = baselines(splits, cfg.evaluation, seed=0)
    assert [r["key"] for r in rows] == ["ridge", "gradient_boosting"]
    for row in rows:
        assert row["test"]["examples"] == 80 and row["val"]["examples"] == 80
        assert row["best_params"] and row["cv_rmse"] > 0
        assert 0.9 < row["test"]["rmse"] < 3.2, row  # noise floor 1, label std about 4.8
    assert rows[0]["test"]["r2"] > 0.6  # the linear part of Friedman #1
    assert min(r["test"]["rmse"] for r in rows) < 2.2  # boosting finds the interactions


def scores(train_rmse, val_rmse, train_r2):
    """Train/val metrics in the shape of metrics.json."""
    return {"train": {"rmse": train_rmse, "r2": train_r2}, "val": {"rmse": val_rmse}}


FLAT = {"loss": [4.0, 2.0, 1.2, 1.19], "val_loss": [4.2, 2.2, 1.4, 1.39]}


@pytest.mark.parametrize(("metrics", "history", "label", "reason"), [
    (scores(1.0, 1.1, 0.95), FLAT, "good_fit", "within the thresholds"),
    (scores(0.4, 1.3, 0.99), FLAT, "overfit", "evaluation.overfit_rmse_gap"),
    (scores(4.0, 4.1, 0.2), FLAT, "underfit", "evaluation.underfit_r2"),
    (scores(1.0, 1.05, 0.95), {"loss": [3.0, 1.0, 0.5, 0.2], "val_loss": [3.0, 1.0, 1.8, 2.5]},
     "overfit", "evaluation.overfit_loss_rise"),
])
def test_diagnosis_of_regression_runs(metrics, history, label, reason):
    fit = diagnose(metrics, history, load_config(), "tabular", REGRESSION)
    assert fit["label"] == label and reason in fit["reasons"][0]
    assert fit["train_rmse"] == metrics["train"]["rmse"]
    assert fit["train_val_gap"] == pytest.approx(metrics["val"]["rmse"] - metrics["train"]["rmse"])
    assert (fit["advice"] != []) == (label != "good_fit")


def test_data_size_verdict_reads_the_rmse():
    def point(n, rmse):
        return {"train_examples": n, "val": {"rmse": rmse, "r2": 0.5}}

    assert verdict([point(250, 2.0), point(500, 1.5)])["more_data_helps"]
    flat = verdict([point(250, 1.02), point(1000, 1.01)])
    assert not flat["more_data_helps"] and "flattened" in flat["text"]
    assert flat["val_rmse_gain_per_doubling"] == pytest.approx(0.005)


def test_evaluate_a_small_keras_regressor(tmp_path):
    keras.utils.set_random_seed(0)
    splits = friedman_splits(600)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    fitted = model.fit(splits.train.x, splits.train.y, epochs=15, batch_size=32, verbose=0,
                       validation_data=(splits.val.x, splits.val.y))
    cfg = load_config(None, ["evaluation.baselines=[ridge]", "evaluation.permutation_repeats=2"])
    result = evaluate(cfg, tmp_path, model, splits, history=fitted.history)
    for split in ("train", "val", "test"):
        assert {"mae", "rmse", "r2", "mse"} <= set(result[split])
    assert result["test"]["rmse"] < 3.0 and result["test"]["r2"] > 0.6
    assert result["diagnosis"] in {"good_fit", "overfit", "underfit"}
    assert "train_rmse" in result["fit"] and result["data"]["label_stats"]["train"]["std"] > 1
    assert result["baselines"][0]["name"] == "ridge regression"
    assert "rmse_increase_mean" in result["interpretation"]["permutation_importance"]
    for name in ("predicted_vs_true", "residuals", "label_distribution", "learning_curves",
                 "baselines", "permutation_importance"):
        assert (tmp_path / result["figures"][name]).stat().st_size > 5000, name
    report = (tmp_path / "report.md").read_text()
    for text in ("## Data", "## Metrics", "RMSE", "R²", "predicted_vs_true.png", "residuals.png",
                 "## Baselines", "ridge regression", "**Diagnosis:", "train RMSE",
                 "Most important features:"):
        assert text in report, text
    assert "class" not in report.split("## Baselines")[0].lower()
    assert list((tmp_path / "tensorboard" / "evaluation").glob("events.out.tfevents.*"))
    json.dumps(result)  # metrics.json-ready
