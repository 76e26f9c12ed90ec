"""Export a finished run's ``model.keras`` as a new TF Serving version (``bigmodel export``).

Reads the run directory (model.keras, checked against the run's manifest and loaded safely
by ``bigmodel_tf.loading``; data_spec.json) and the data's test split for the warm-up
records; writes through ``export_serving_model``.
"""

from __future__ import annotations

from pathlib import Path

from bigmodel_tf.config import ExperimentConfig, export_name
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import RunDirError
from bigmodel_tf.export.saved_model import export_serving_model
from bigmodel_tf.loading import load_keras_model


def export_run(run_dir: Path, cfg: ExperimentConfig) -> Path:
    """Export ``run_dir``'s trained model to ``<export.dir>/<export.name>/<next version>``."""
    model_path, spec_path = run_dir / "model.keras", run_dir / "data_spec.json"
    for path in (model_path, spec_path):
        if not path.exists():
            raise RunDirError(f"--run {run_dir}: {path.name} is missing (is the run finished?)")
    model = load_keras_model(model_path)
    warmup = load_splits(cfg).test.x[: cfg.export.warmup_examples]
    return export_serving_model(
        model, DataSpec.load(spec_path), cfg.export.dir, export_name(cfg), warmup, cfg
    )
