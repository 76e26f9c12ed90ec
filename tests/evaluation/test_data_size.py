"""The verdict of the learning curve by data size: would more data help?"""

import pytest

from bigmodel_tf.evaluation.data_size import verdict


def point(examples, val_accuracy):
    """One curve point with what the verdict reads."""
    return {"train_examples": examples, "val": {"accuracy": val_accuracy}}


def test_halving_the_error_per_doubling_says_more_data_helps():
    result = verdict([point(300, 0.9), point(600, 0.985), point(1200, 0.9925)])
    assert result["more_data_helps"]
    assert result["val_error_drop_per_doubling"] == pytest.approx(0.5)
    assert "would likely help" in result["text"]


def test_a_flat_curve_says_change_the_model():
    result = verdict([point(250, 0.90), point(1000, 0.905)])
    assert not result["more_data_helps"]
    assert result["val_accuracy_gain_per_doubling"] == pytest.approx(0.0025)
    assert "flattened" in result["text"]
