"""Small splits on several replicas: full batches only, and the metrics of one device.

MirroredStrategy over 2 logical CPU devices needs its own interpreter (devices are fixed
when TensorFlow starts): a probe process (replica_probe.py) builds the splits, trains one
step with fit and validates as fit does on several replicas; the iris runs are `bigmodel
train` processes whose logged val metrics and evaluated test metrics must equal those of
model.keras evaluated here, on one device.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.pipeline import whole_batches
from tests.pipelines import config_dataset

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
CASES = ["0.02:8", "0.047:16", "0.1:8", "0.1:64"]  # val fraction : per-replica batch


def run(args: list[str], cwd: Path) -> str:
    """Run a Python module of this checkout; its stdout (fail with the stderr's tail)."""
    proc = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def probed() -> dict:
    return json.loads(run(["tests.training.replica_probe", *CASES], ROOT).splitlines()[-1])


@pytest.mark.parametrize("case", CASES)
def test_small_splits_give_every_replica_full_batches(probed, case):
    result, batch = probed[case], int(case.split(":")[1])
    train_size, val_size, _ = result["sizes"]
    assert set(result["train_batches"]) == {2 * batch}
    assert len(result["train_batches"]) * 2 * batch == whole_batches(train_size, 2 * batch)
    assert all(shapes == [batch, batch] for shapes in result["val_shapes"])
    assert result["val_weight"] == val_size  # every real example once, the padding zero


@pytest.mark.parametrize("case", CASES)
def test_distributed_validation_equals_one_device(probed, case):
    result = probed[case]
    assert result["distributed"]["val_accuracy"] == pytest.approx(
        result["one_device"]["val_accuracy"], abs=1e-6)
    assert result["distributed"]["val_loss"] == pytest.approx(
        result["one_device"]["val_loss"], rel=1e-5)


@pytest.mark.parametrize("batch", [16, 8, 64])
def test_iris_on_two_replicas_reports_the_metrics_of_one_device(tmp_path, batch):
    overrides = ["data.name=iris", "model.name=mlp", f"data.batch_size={batch}",
                 "train.epochs=2", "train.early_stopping_patience=0",
                 "train.histogram_freq=0", "train.verbose=2", "export.enabled=false",
                 "evaluation.baselines=[]", "evaluation.interpret=false"]
    run(["bigmodel_tf.cli", "train", "--run-dir", str(tmp_path / "run"), "--set",
         "runtime.logical_cpus=2", *overrides], tmp_path)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["replicas"] == 2
    with (tmp_path / "run" / "history.csv").open(newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    cfg = load_config(None, overrides)
    model = keras.models.load_model(tmp_path / "run" / "model.keras")
    val = model.evaluate(config_dataset(cfg, "val"), verbose=0, return_dict=True)
    assert float(last["val_loss"]) == pytest.approx(val["loss"], rel=1e-5)
    assert float(last["val_accuracy"]) == pytest.approx(val["accuracy"], abs=1e-6)
    splits = load_splits(cfg)
    for split in ("val", "test"):
        arrays = getattr(splits, split)
        predicted = np.argmax(model.predict(arrays.x, verbose=0), axis=-1)
        assert metrics[split]["examples"] == len(arrays.y)
        assert metrics[split]["accuracy"] == pytest.approx(np.mean(predicted == arrays.y))
