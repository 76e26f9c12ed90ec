"""scikit-learn baselines: tuned on the train split, scored on the test split like the network."""

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.tasks.classification.baselines import baselines


def run_baselines(splits, cfg):
    """The classification baselines of ``cfg`` (as the evaluation stage calls them)."""
    return baselines(splits, cfg.evaluation, cfg.seed, cfg.data.imbalance.class_weight)


def test_every_baseline_is_tuned_and_scored_on_test():
    cfg = load_config(None, ["data.name=iris", "evaluation.baselines=[logistic_regression,svm,"
                                               "random_forest,gradient_boosting]"])
    splits = load_splits(cfg)
    rows = run_baselines(splits, cfg)
    assert [r["key"] for r in rows] == cfg.evaluation.baselines
    for row in rows:
        assert row["test"]["accuracy"] >= 0.8, row
        assert row["test"]["examples"] == len(splits.test.y)
        assert row["train_examples"] == len(splits.train.y)
        assert row["best_params"] and 0 <= row["cv_f1_macro"] <= 1
    assert rows[1]["best_params"].keys() == {"C"}  # the SVM's own C, not a wrapper path


def test_train_subset_cap_and_balanced_class_weights():
    cfg = load_config(None, ["data.name=breast_cancer", "evaluation.baselines=[svm]",
                             "evaluation.baseline_max_examples=120",
                             "data.imbalance.class_weight=balanced"])
    (row,) = run_baselines(load_splits(cfg), cfg)
    assert row["train_examples"] == 120
    assert row["test"]["roc_auc"] > 0.95


def test_a_baseline_that_cannot_be_tuned_is_skipped_with_its_reason():
    # 5 train examples: fewer per class than GridSearchCV's 3 folds
    cfg = load_config(None, ["data.name=iris", "evaluation.baselines=[logistic_regression]",
                             "data.train_fraction=0.05"])
    (row,) = run_baselines(load_splits(cfg), cfg)
    assert "test" not in row and "n_splits=3" in row["skipped"]
