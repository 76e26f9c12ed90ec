"""Reading a finished run directory for ``bigmodel evaluate``, with the error contract.

Checks that the directory holds config.yaml, model.keras and data_spec.json and reads the
config before any model is loaded (nothing here imports TensorFlow), so a wrong ``--run``
fails in well under a second with one line naming the problem (``RunDirError``); checks
``--set`` overrides: ``evaluate`` may change only ``data.*`` and ``evaluation.*`` keys.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bigmodel_tf.config import ExperimentConfig, from_dict, parse_overrides, replace
from bigmodel_tf.errors import ConfigError, RunDirError

EVALUATE_SECTIONS = ("data", "evaluation")
REQUIRED_FILES = ("config.yaml", "model.keras", "data_spec.json")


def check_run_dir(run_dir: Path) -> None:
    """Raise RunDirError unless ``run_dir`` is a folder holding a trained run's files."""
    if not run_dir.exists():
        raise RunDirError(f"--run {run_dir}: not found (expected a run directory made by "
                          "`bigmodel train`)")
    if not run_dir.is_dir():
        raise RunDirError(f"--run {run_dir}: not a directory")
    for name in REQUIRED_FILES:
        if not (run_dir / name).is_file():
            hint = "not a run directory" if name == "config.yaml" else "is the run finished?"
            raise RunDirError(f"--run {run_dir}: {name} is missing ({hint})")


def read_run_config(run_dir: Path) -> ExperimentConfig:
    """The resolved config saved in the run; an unreadable or invalid one is a RunDirError."""
    path = run_dir / "config.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RunDirError(f"--run {run_dir}: config.yaml is unreadable "
                          f"({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise RunDirError(f"--run {run_dir}: config.yaml is not a config (expected a mapping)")
    try:
        return from_dict(raw)
    except ConfigError as exc:
        raise RunDirError(f"--run {run_dir}: config.yaml is invalid ({exc})") from None


def evaluation_config(run_cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """The run's config with ``--set`` overrides of data.* and evaluation.* keys only."""
    for section in parse_overrides(overrides):
        if section not in EVALUATE_SECTIONS:
            raise ConfigError(
                f"--set {section}...: evaluate can change only data.* and evaluation.* keys "
                "(the model is already trained); train a new run to change the rest"
            )
    return replace(run_cfg, overrides)
