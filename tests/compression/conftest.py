"""Fixtures of the compression tests: small configs, tiny models and trained runs.

Seeding comes from the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from bigmodel_tf.cli import main
from bigmodel_tf.config import ExperimentConfig, load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.models import build_model


@pytest.fixture
def make_cfg():
    """Factory: a validated config from dotted ``KEY=VALUE`` overrides (digits by default)."""

    def make(*overrides: str) -> ExperimentConfig:
        return load_config(None, ["train.verbose=0", *overrides])

    return make


def perturbed(model: keras.Model) -> keras.Model:
    """``model`` with weights scaled and shifted a little (non-trivial biases and BN stats)."""
    rng = np.random.default_rng(1)
    model.set_weights([w * rng.uniform(0.9, 1.1, w.shape) + rng.uniform(0.0, 0.05, w.shape)
                       for w in model.get_weights()])
    return model


@pytest.fixture
def small_model():
    """Factory: (Keras 3 model with perturbed weights, spec, test inputs) for a config."""

    def make(cfg: ExperimentConfig):
        splits = load_splits(cfg)
        return perturbed(build_model(cfg.model, splits.spec)), splits.spec, splits.test.x[:16]

    return make


# What these tests do not need from training: the evaluation stage's baselines and
# interpretation, weight histograms and the TF Serving export (time on 2 shared cores).
LEAN_TRAINING = ["train.verbose=0", "train.histogram_freq=0", "evaluation.baselines=[]",
                 "evaluation.interpret=false", "export.enabled=false"]


def compress_run(root: Path, compress: list[str]) -> dict:
    """Compress root/run through the CLI into root/saved_models; return the report."""
    run_dir = root / "run"
    assert main(["compress", "--run", str(run_dir),
                 "--set", f"export.dir={root / 'saved_models'}", *compress]) == 0
    return json.loads((run_dir / "compression" / "compression.json").read_text())


def train_and_compress(root: Path, train: list[str], compress: list[str]) -> tuple[Path, dict]:
    """Train a run through the CLI, compress it through the CLI; return (run dir, report)."""
    run_dir = root / "run"
    assert main(["train", "--run-dir", str(run_dir),
                 "--set", f"export.dir={root / 'saved_models'}", *LEAN_TRAINING, *train]) == 0
    return run_dir, compress_run(root, compress)
