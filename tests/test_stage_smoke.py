"""One step of every stage, each called through its entry on tiny data (iris, one epoch).

training.train -> evaluation.evaluate -> export.export on its model, compression.compress
of a finished run, and experiments.run, which chains them (here through ``bigmodel
train``, into a run directory whose name YAML would read as a list).
"""

from pathlib import Path

import pytest

from bigmodel_tf.cli import main
from bigmodel_tf.compression import compress
from bigmodel_tf.config import load_config, with_changes
from bigmodel_tf.data import with_run_cache
from bigmodel_tf.evaluation.stage import evaluate
from bigmodel_tf.experiments import run
from bigmodel_tf.export import export
from bigmodel_tf.finished_run import RunDir
from bigmodel_tf.training import train

TINY = ["data.name=iris", "model.name=mlp", "train.epochs=1", "evaluation.baselines=[]",
        "evaluation.interpret=false", "export.enabled=false", "train.verbose=0",
        "train.histogram_freq=0"]
TRAINING_FILES = ("config.yaml", "data_spec.json", "history.csv", "model.keras",
                  "manifest.json")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(config, TrainResult) of one training-stage call."""
    cfg = load_config(None, TINY)
    return cfg, train(cfg, tmp_path_factory.mktemp("stages") / "run")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(config, run directory) of one ``bigmodel train --run-dir '[exp1]'`` with a file
    cache, whose default folder follows the run directory (a typed value, not --set text)."""
    root = tmp_path_factory.mktemp("experiments")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert main(["train", "--run-dir", "[exp1]", "--set", *TINY, "data.cache=file"]) == 0
    return load_config(None, [*TINY, "data.cache=file"]), root / "[exp1]"


def test_training_trains_into_the_run_directory_and_nothing_more(trained):
    _, result = trained
    assert all((result.run_dir / name).is_file() for name in TRAINING_FILES)
    assert not (result.run_dir / "metrics.json").exists()  # the experiments layer's
    assert not (result.run_dir / "report.md").exists()
    assert result.facts["epochs_run"] == 1 and result.facts["replicas"] == 1
    assert result.facts["parameters"] == result.model.count_params()
    assert len(result.history["loss"]) == 1 and len(result.splits.test.y) > 0


def test_evaluation_evaluates_the_trained_model(trained):
    cfg, result = trained
    metrics = evaluate(cfg, result.run_dir, result.model, result.splits)
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0 and "diagnosis" in metrics
    assert (result.run_dir / "report.md").is_file()
    assert "cv" not in metrics and "data_size_curve" not in metrics  # no sub-runs given


def test_export_exports_the_trained_model(trained, tmp_path):
    cfg, result = trained
    exporting = with_changes(cfg, {"export.enabled": True, "export.dir": str(tmp_path)})
    path = export(exporting, result.run_dir, result.model, result.splits.spec,
                  result.splits.test)
    assert (path / "saved_model.pb").is_file() and path.name == "1"
    assert export(cfg, result.run_dir, result.model, result.splits.spec) is None  # disabled


def test_experiments_run_chains_the_stages_and_returns_a_finished_run(finished):
    cfg, run_dir = finished
    metrics = RunDir(run_dir).metrics
    assert metrics["epochs_run"] == 1
    assert {"test", "diagnosis", "strategy", "parameters", "figures"} <= set(metrics)
    assert not (run_dir / "checkpoints" / "backup").exists()
    again = run(cfg, run_dir)
    assert again.already_finished and again.metrics == metrics and again.model is None


def test_the_default_file_cache_follows_the_run_directory_as_a_name():
    cfg = with_run_cache(load_config(None, ["data.cache=file"]), Path("[exp1]"))
    assert cfg.data.cache_dir == "[exp1]/cache"


def test_compression_compresses_a_finished_run(finished, tmp_path):
    _, run_dir = finished
    finished_run = RunDir(run_dir)
    finished_run.check_finished()
    cfg = with_changes(finished_run.config, {
        "compression.prune": False, "compression.variants": ["float32"],
        "compression.latency_runs": 1, "compression.representative_examples": 8,
        "export.dir": str(tmp_path)})
    compressed = compress(cfg, finished_run)
    assert set(compressed.report["variants"]) == {"base_float32"}
    assert (compressed.tflite_dir / "base_float32.tflite").is_file()
