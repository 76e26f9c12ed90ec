"""Shared set-up of the reliability tests: small deterministic runs in fresh processes.

Every end-to-end test trains the same small experiment (an MLP on digits, a few epochs,
op determinism on, evaluation extras off) with ``bigmodel train`` in a subprocess, so that
runs can be killed, resumed and compared bit for bit. ``reference_run`` is trained once
per session, uninterrupted; the other tests compare against it.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
# lr 0.05: val_loss is lowest in epoch 4 of 6 and rises after, so early stopping's
# restore_best_weights (patience 8 > epochs) decides the final weights: a resume that
# forgot its best epoch ends with other weights. Dropout 0.1 (default) draws from a seed
# generator whose state a resume must restore.
EXPERIMENT = [
    "model.name=mlp", "model.width=32", "train.epochs=6", "train.learning_rate=0.05",
    "runtime.deterministic=true", "export.enabled=false", "evaluation.baselines=[]",
    "evaluation.interpret=false", "train.histogram_freq=0", "train.verbose=2",
]


def bigmodel(cwd: Path, *args: str, killer: tuple | None = None) -> subprocess.CompletedProcess:
    """``bigmodel train ARGS`` in a new process (via killer.py when ``killer`` is given)."""
    command = ([sys.executable, str(HERE / "killer.py"), *map(str, killer)] if killer
               else [sys.executable, "-m", "bigmodel_tf.cli", "train"])
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


def train_experiment(cwd: Path, run: str, *overrides: str, killer=None):
    """Train the shared experiment (plus overrides) into cwd/run."""
    return bigmodel(cwd, "--run-dir", run, "--set", *EXPERIMENT, *overrides, killer=killer)


def final_weights(run: Path) -> list[np.ndarray]:
    """The weights of a run's model.keras (loaded safely, manifest checked)."""
    from bigmodel_tf.loading import load_keras_model

    return load_keras_model(run / "model.keras").get_weights()


def assert_same_weights(a: Path, b: Path) -> None:
    """Bit-identical weights of two runs' models."""
    for x, y in zip(final_weights(a), final_weights(b), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory) -> Path:
    """The shared experiment trained once, uninterrupted."""
    root = tmp_path_factory.mktemp("reference")
    done = train_experiment(root, "run")
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "run"
