"""Export a finished run's ``model.keras`` as a new TF Serving version (``bigmodel export``).

Reads the run through ``finished_run.RunDir`` (model.keras checked against the run's
manifest and data_spec.json, loaded safely) and the data's test split for the warm-up
records, checked to fit the model; writes through the export stage's entry
(``saved_model.export``: the decision threshold ``export.threshold`` chooses, ``tuned``
being the run's threshold.json, and ONNX as ``export.formats`` says).
``convert_run_to_onnx`` converts the newest version the run exported earlier
(``bigmodel export --format onnx``).
"""

from __future__ import annotations

from pathlib import Path

from bigmodel_tf import remote
from bigmodel_tf.config import ExperimentConfig, config_hash, export_name, with_changes
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.columns import signature_inputs
from bigmodel_tf.errors import ArtifactError, RunDirError
from bigmodel_tf.export.onnx import PARITY_EXAMPLES, export_onnx
from bigmodel_tf.export.saved_model import export
from bigmodel_tf.finished_run import RunDir
from bigmodel_tf.io import version_folders
from bigmodel_tf.manifest import read_manifest, verify_folder


def export_run(run: RunDir, cfg: ExperimentConfig) -> Path | str:
    """Export a checked run's model to ``<export.dir>/<export.name>/<next version>``."""
    model = run.load_verified_model()
    splits = load_splits(cfg)
    run.check_data(cfg.data, splits.spec)
    return export(with_changes(cfg, {"export.enabled": True}), run.path, model, run.spec,
                  splits.test)


def _newest_version_of(base: Path | str, run_hash: str) -> Path | str:
    """The highest version under ``base`` whose manifest carries ``run_hash``, verified (a
    version at a URL in a local copy)."""
    for version in reversed(version_folders(base)):
        with remote.local_folder(version) as folder:
            try:
                ours = read_manifest(folder).get("config_hash") == run_hash
            except ArtifactError:  # not written by bigmodel export
                continue
            if ours:
                verify_folder(folder)
                return version
    raise RunDirError(f"{base}: no SavedModel version exported from this run (config hash "
                      f"{run_hash}); run `bigmodel export --run RUN_DIR` first")


def convert_run_to_onnx(run: RunDir, cfg: ExperimentConfig) -> Path | str:
    """Convert the newest SavedModel version exported from ``run`` to ONNX, checked on the
    test split; returns the ONNX folder."""
    version = _newest_version_of(remote.join(cfg.export.dir, export_name(cfg)), config_hash(cfg))
    splits = load_splits(cfg)
    run.check_data(cfg.data, splits.spec)
    examples = splits.test.head(PARITY_EXAMPLES)[0]
    return export_onnx(version, signature_inputs(examples, run.spec), config_hash(cfg))
