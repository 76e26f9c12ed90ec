"""Config saving and naming: the resolved config as YAML, its hash, run and export names.

The saved ``config.yaml`` holds every key plus the library versions (provenance), so
that ``bigmodel train --config runs/X/config.yaml`` reproduces the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import yaml

from bigmodel_tf.config.effects import RUN_EFFECTS, keys_with, select
from bigmodel_tf.config.experiment import ExperimentConfig
from bigmodel_tf.io import atomic_write
from bigmodel_tf.plugins import path_name


def to_dict(cfg: Any) -> dict:
    """The config as a plain nested dict (YAML/JSON serializable)."""
    return dataclasses.asdict(cfg)


def config_hash(cfg: ExperimentConfig) -> str:
    """A short stable hash of the keys that change what a run holds (``RUN_EFFECTS``:
    data, result and evaluation keys; pipeline keys and later commands' keys are left out)."""
    content = select(to_dict(cfg), keys_with(*RUN_EFFECTS))
    blob = json.dumps(content, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def run_name(cfg: ExperimentConfig) -> str:
    """The run directory's name: ``run_name`` if set, else data-model-hash (stable)."""
    return cfg.run_name or (
        f"{path_name(cfg.data.name)}-{path_name(cfg.model.name)}-{config_hash(cfg)}")


def export_name(cfg: ExperimentConfig) -> str:
    """The exported model's name under ``export.dir``."""
    return cfg.export.name or f"{path_name(cfg.data.name)}_{path_name(cfg.model.name)}"


def library_versions() -> dict:
    """Versions of Python and the libraries that decide a run's results."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("tensorflow", "keras", "tf-keras", "scikit-learn", "numpy", "bigmodel_tf"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def save_config(cfg: ExperimentConfig, path: str | Path) -> None:
    """Write the resolved config plus library versions as YAML (atomically)."""
    path = Path(path)
    content = {**to_dict(cfg), "versions": library_versions()}
    atomic_write(path, yaml.safe_dump(content, sort_keys=False))
