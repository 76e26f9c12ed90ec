"""The binary decision threshold at serving: ``class_id`` applies what export.threshold chose.

A unit check on a tiny binary model, the rule's resolution (tuned / number / missing /
multiclass), and breast cancer end to end: ``bigmodel train`` exports with the threshold
the evaluation stage tuned on val, ``bigmodel export --run`` with the one it is given.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.cli import main
from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.export.saved_model import export_serving_model
from bigmodel_tf.loading import load_keras_model
from bigmodel_tf.manifest import read_manifest
from bigmodel_tf.tasks.classification.threshold import serving_threshold

BINARY = DataSpec("tabular", [3], ["no", "yes"], feature_names=["a", "b", "c"],
                  mean=[0.0, 0.0, 0.0], variance=[1.0, 1.0, 1.0])


def _decision(threshold: float, positive: int = 1) -> dict:
    return {"threshold": threshold, "positive_class": BINARY.class_names[positive],
            "positive_class_id": positive, "source": "test"}


@pytest.mark.parametrize("positive", [1, 0])
def test_class_id_applies_the_threshold(tmp_path, make_model, make_inputs, positive):
    model = make_model(BINARY)
    x = make_inputs(BINARY, 200)
    p = model.predict(x, verbose=0)[:, positive]
    threshold = float(np.quantile(p, 0.3))  # below 0.5 wherever the model is unsure
    version = export_serving_model(model, BINARY, tmp_path, "m", x[:2], None,
                                   _decision(threshold, positive))
    loaded = tf.saved_model.load(str(version))
    class_id = loaded.signatures["serving_default"](features=tf.constant(x))["class_id"].numpy()
    expected = np.where(p >= threshold, positive, 1 - positive)
    np.testing.assert_array_equal(class_id, expected)
    assert (class_id != model.predict(x, verbose=0).argmax(axis=1)).any()  # argmax disagrees
    assert float(loaded.decision_threshold[0].numpy()) == pytest.approx(threshold)
    assert read_manifest(version)["serving"]["decision"]["threshold"] == threshold


def test_the_rule_export_threshold_chooses(tmp_path):
    evaluation = load_config(overrides=["evaluation.positive_class=yes"]).evaluation
    assert serving_threshold("tuned", evaluation, tmp_path, ["a", "b", "c"]) is None
    missing = serving_threshold("tuned", evaluation, tmp_path, BINARY.class_names)
    assert missing["threshold"] == 0.5 and "no threshold.json" in missing["source"]
    (tmp_path / "threshold.json").write_text(json.dumps({"value": 0.27}))
    tuned = serving_threshold("tuned", evaluation, tmp_path, BINARY.class_names)
    assert (tuned["threshold"], tuned["positive_class_id"]) == (0.27, 1)
    assert serving_threshold(0.8, evaluation, tmp_path, BINARY.class_names)["threshold"] == 0.8


@pytest.mark.slow  # trains breast cancer for 2 epochs and exports twice: about 30 s here
def test_breast_cancer_class_id_uses_the_tuned_threshold(tmp_path):
    run, exports = tmp_path / "run", tmp_path / "exports"
    assert main(["train", "--run-dir", str(run), "--set", "data.name=breast_cancer",
                 "model.name=mlp", "train.epochs=2", "train.verbose=0",
                 "train.histogram_freq=0", "evaluation.baselines=[]",
                 "evaluation.interpret=false", f"export.dir={exports}"]) == 0
    tuned = json.loads((run / "threshold.json").read_text())
    assert tuned["value"] != 0.5
    positive = tuned["positive_class_id"]
    test_x = load_splits(load_config(run / "config.yaml")).test.x
    p = load_keras_model(run / "model.keras").predict(test_x, verbose=0)
    version = exports / "breast_cancer_mlp" / "1"
    decision = read_manifest(version)["serving"]["decision"]
    assert decision["threshold"] == tuned["value"] and decision["source"].startswith("tuned")
    out = tf.saved_model.load(str(version)).signatures["serving_default"](
        features=tf.constant(test_x))
    np.testing.assert_allclose(out["probabilities"].numpy(), p, atol=1e-6)
    at_tuned = np.where(p[:, positive] >= tuned["value"], positive, 1 - positive)
    np.testing.assert_array_equal(out["class_id"].numpy(), at_tuned)
    print(f"tuned threshold {tuned['value']:.4f}; {int((at_tuned != p.argmax(1)).sum())} of "
          f"{len(p)} test rows where argmax disagrees")

    assert main(["export", "--run", str(run), "--set", "export.threshold=0.9"]) == 0
    again = exports / "breast_cancer_mlp" / "2"
    assert read_manifest(again)["serving"]["decision"]["threshold"] == 0.9
    out = tf.saved_model.load(str(again)).signatures["serving_default"](
        features=tf.constant(test_x))
    np.testing.assert_array_equal(out["class_id"].numpy(),
                                  np.where(p[:, positive] >= 0.9, positive, 1 - positive))
