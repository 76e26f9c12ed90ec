"""Export a finished run's ``model.keras`` as a new TF Serving version (``bigmodel export``).

Reads the run through ``finished_run.RunDir`` (model.keras checked against the run's
manifest and data_spec.json, loaded safely) and the data's test split for the warm-up
records, checked to fit the model; writes through ``export_serving_model`` with the decision
threshold ``export.threshold`` chooses (``tuned``: the run's threshold.json).
"""

from __future__ import annotations

from pathlib import Path

from bigmodel_tf.config import ExperimentConfig, config_hash, export_name
from bigmodel_tf.data import load_splits
from bigmodel_tf.export.saved_model import export_serving_model
from bigmodel_tf.finished_run import RunDir
from bigmodel_tf.tasks import get_task


def export_run(run: RunDir, cfg: ExperimentConfig) -> Path:
    """Export a checked run's model to ``<export.dir>/<export.name>/<next version>``."""
    model = run.load_verified_model()
    splits = load_splits(cfg)
    run.check_data(cfg.data, splits.spec)
    warmup = splits.test.x[: cfg.export.warmup_examples]
    decision = get_task(run.spec.task).serving_decision(cfg.export.threshold, cfg.evaluation,
                                                        run.path, run.spec)
    return export_serving_model(model, run.spec, cfg.export.dir, export_name(cfg), warmup,
                                config_hash(cfg), decision)
