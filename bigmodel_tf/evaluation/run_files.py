"""The ``--set`` contract of ``bigmodel evaluate``: only data.* and evaluation.* keys.

The run itself is read and checked by ``finished_run.RunDir``; nothing here imports
TensorFlow, so a wrong ``--set`` fails in well under a second (a ``ConfigError``).
"""

from __future__ import annotations

from bigmodel_tf.config import ExperimentConfig, parse_overrides, replace
from bigmodel_tf.errors import ConfigError

EVALUATE_SECTIONS = ("data", "evaluation")


def evaluation_config(run_cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """The run's config with ``--set`` overrides of data.* and evaluation.* keys only."""
    for section in parse_overrides(overrides):
        if section not in EVALUATE_SECTIONS:
            raise ConfigError(
                f"--set {section}...: evaluate can change only data.* and evaluation.* keys "
                "(the model is already trained); train a new run to change the rest"
            )
    return replace(run_cfg, overrides)
