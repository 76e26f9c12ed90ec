"""The tracker without training: backend none imports nothing, resume reuses the run,
flattened names, and the callback in the multi-worker loop."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import tensorflow as tf
from mlflow.tracking import MlflowClient

from bigmodel_tf.config import TrackingConfig, load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.models import build_model
from bigmodel_tf.tracking import Tracker, recorded_run_id, start
from bigmodel_tf.tracking.callback import TrackingCallback
from bigmodel_tf.tracking.flatten import flat_metrics, flat_params
from bigmodel_tf.training.custom_loop import fit_distributed
from bigmodel_tf.training.trainer import compile_model
from tests.pipelines import config_reader
from tests.tracking.conftest import TINY

PACKAGE = Path(__file__).resolve().parents[2] / "bigmodel_tf"
TRACKER_MODULES = {"bigmodel_tf.tracking.mlflow_run", "bigmodel_tf.tracking.store"}
NONE_RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    from bigmodel_tf.config import TrackingConfig
    from bigmodel_tf.tracking import start
    with start(TrackingConfig(), Path(sys.argv[1]), run_name="run", default_experiment="e",
               params={}) as tracker:
        tracker.write_record()
        [c.on_epoch_end(0, {"loss": 1.0}) for c in tracker.callbacks()]
        tracker.finish({"loss": 1.0}, [Path(sys.argv[1])], {})
    assert "mlflow" not in sys.modules, sorted(m for m in sys.modules if "mlflow" in m)
""")


def _imports(path: Path) -> set[str]:
    """The modules a file imports, anywhere in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_backend_none_never_imports_the_tracker(tmp_path):
    """Only the MLflow modules of the package import mlflow, and only ``start`` imports
    them (for a backend other than none); a none tracker used through its whole life
    leaves mlflow unimported in a fresh process and writes nothing."""
    importers = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if any(n == "mlflow" or n.startswith("mlflow.") for n in _imports(p))}
    assert importers == {"tracking/mlflow_run.py", "tracking/store.py"}
    users = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
             if _imports(p) & TRACKER_MODULES}
    assert users == {"tracking/__init__.py", "tracking/mlflow_run.py"}
    subprocess.run([sys.executable, "-c", NONE_RUN, str(tmp_path)], check=True,
                   capture_output=True)
    assert list(tmp_path.iterdir()) == []  # a none tracker writes nothing


def test_a_resumed_run_logs_into_the_same_tracker_run(tmp_path):
    section = TrackingConfig(backend="mlflow", uri=str(tmp_path / "mlruns"))
    (tmp_path / "run").mkdir()
    first = start(section, tmp_path / "run", run_name="run", default_experiment="e",
                  params={"train": {"epochs": 3}})
    with first:  # interrupted: never finished
        first.write_record()
        first.log_epoch(0, {"loss": 1.0})
    again = start(section, tmp_path / "run", run_name="run", default_experiment="e",
                  params={"train": {"epochs": 3}, "pipeline": {"new": True}})
    assert again.run_id == first.run_id == recorded_run_id(tmp_path / "run")
    run = MlflowClient(tracking_uri=section_uri(tmp_path)).get_run(first.run_id)
    assert run.info.status == "RUNNING" and run.data.params["pipeline.new"] == "true"


def section_uri(tmp_path) -> str:
    """The file: URI of tmp_path/mlruns."""
    return (tmp_path / "mlruns").resolve().as_uri()


def test_names_are_flattened_into_what_a_tracker_accepts():
    assert flat_params({"tune": {"space": {"model.width": {"min": 16}}}, "name": None,
                        "formats": ["onnx"]}) == {
        "tune.space.model.width.min": "16", "name": "null", "formats": '["onnx"]'}
    assert flat_metrics({"val": {"per_class": {"B+": {"f1": 1}, "..": {"f1": 0.5}},
                                 "confusion_matrix": [[1]], "roc_auc": float("nan")},
                         "diagnosis": "fit", "ok": True}) == {
        "val.per_class.B_.f1": 1.0, "val.per_class._.f1": 0.5}


class Recorder(Tracker):
    """A tracker that keeps what the callback sends."""

    def __init__(self):
        self.epochs = []

    def log_epoch(self, epoch, logs):
        self.epochs.append((epoch, sorted(logs)))


def test_the_multi_worker_loop_drives_the_tracking_callback():
    cfg = load_config(None, [*TINY, "train.epochs=2"])
    spec = load_splits(cfg).spec
    model = build_model(cfg.model, spec)
    compile_model(model, cfg.train, cfg.runtime, cfg.task, spec.task, 2)
    recorder = Recorder()
    fit_distributed(tf.distribute.get_strategy(), model, config_reader(cfg), 2, 2,
                    [TrackingCallback(recorder)], 0)
    assert [epoch for epoch, _ in recorder.epochs] == [0, 1]
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(recorder.epochs[0][1])
