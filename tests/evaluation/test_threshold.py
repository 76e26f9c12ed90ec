"""Decision-threshold tuning for binary tasks: F1, a recall target, the positive class."""

import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.tasks.classification import threshold as th


@pytest.fixture
def scores():
    """Imbalanced binary scores (20 % positives) whose best threshold is well below 0.5."""
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=2000) < 0.2).astype(int)
    p = np.clip(0.15 + 0.35 * y + rng.normal(0, 0.12, size=y.shape), 0, 1)
    return y, p


def test_f1_threshold_beats_the_default(scores):
    y, p = scores
    probs = np.stack([1 - p, p], axis=1)
    tuned = th.tune_threshold(y, p, "f1")
    assert tuned < 0.5
    assert th.binary_scores(y, probs, tuned)["f1"] > th.binary_scores(y, probs, 0.5)["f1"]
    curve = th.threshold_curve(y, p)
    assert th.binary_scores(y, probs, tuned)["f1"] == pytest.approx(curve["f1"].max())


def test_recall_objective_reaches_the_target(scores):
    y, p = scores
    probs = np.stack([1 - p, p], axis=1)
    tuned = th.tune_threshold(y, p, "recall", target_recall=0.97)
    assert th.binary_scores(y, probs, tuned)["recall"] >= 0.97
    # the highest such threshold: a little higher loses the recall target
    assert th.binary_scores(y, probs, tuned + 1e-3)["recall"] < 0.97 or tuned >= p.max()


def test_apply_threshold_for_either_positive_class():
    probs = np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    assert th.apply_threshold(probs, 0.25).tolist() == [1, 1, 0]
    assert th.apply_threshold(probs, 0.65, positive=0).tolist() == [0, 1, 0]


def test_threshold_report_for_a_named_positive_class(scores, tmp_path):
    y, p = scores
    probs = {s: np.stack([1 - p, p], axis=1) for s in ("val", "test")}
    labels = {"val": 1 - y, "test": 1 - y}  # class 0 is now the rare one
    cfg = load_config(None, ["evaluation.positive_class=rare",
                             "evaluation.threshold_objective=recall",
                             "evaluation.target_recall=0.9"])
    report = th.threshold_report(probs, labels, cfg.evaluation, ["rare", "common"])
    assert report["positive_class"] == "rare" and report["positive_class_id"] == 0
    assert report["val_at_tuned"]["recall"] >= 0.9
    th.write_threshold(report, tmp_path)
    saved = (tmp_path / "threshold.json").read_text()
    assert '"positive_class": "rare"' in saved and '"value"' in saved


def test_unknown_positive_class_is_a_config_error():
    cfg = load_config(None, ["evaluation.positive_class=maybe"])
    with pytest.raises(ConfigError, match="evaluation.positive_class: expected one of"):
        th.positive_index(cfg.evaluation, ["no", "yes"])
