"""Shared set-up of the tuning tests: a fast stand-in for the training stage.

``fake_train`` replaces the experiments ``run`` inside the tuner by a function of the config (a
smooth objective with its optimum at learning rate 10^-2.5 and width 64), so the search
logic — oracles, resume, results, HParams — runs in milliseconds per trial. The end-to-end
tests (marked slow) train real models instead.
"""

import math
import os
import signal

import pytest

from bigmodel_tf.errors import TrainingDivergedError
from bigmodel_tf.experiments import RunResult
from bigmodel_tf.io import write_json
from bigmodel_tf.tuning import tuner as tuner_module
from bigmodel_tf.tuning.settings import load_tune_config


def fake_accuracy(cfg) -> float:
    """A known objective over train.learning_rate and model.width (best 1.0)."""
    return (1.0 - (math.log10(cfg.train.learning_rate) + 2.5) ** 2 / 10
            - abs(cfg.model.width - 64) / 1000)


class FakeTrainer:
    """Records every call; ``interrupt_at`` raises KeyboardInterrupt on that call (1-based)
    and ``kill_at`` SIGKILLs the process in the middle of it; the calls in ``nan_at``
    report a NaN accuracy and those in ``diverge_at`` stop as a diverged training does."""

    def __init__(self):
        self.calls: list[str] = []
        self.interrupt_at: int | None = None
        self.kill_at: int | None = None
        self.nan_at: set[int] = set()
        self.diverge_at: set[int] = set()

    def __call__(self, cfg, run_dir, tracking_parent=None):
        self.calls.append(run_dir.name)
        if len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        if len(self.calls) in self.diverge_at:
            raise TrainingDivergedError("training diverged: loss is NaN at epoch 2")
        run_dir.mkdir(parents=True, exist_ok=True)
        if len(self.calls) == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        accuracy = math.nan if len(self.calls) in self.nan_at else fake_accuracy(cfg)
        metrics = {"val": {"accuracy": accuracy, "loss": 1.0 - accuracy},
                   "test": {"accuracy": accuracy}, "epochs_run": cfg.train.epochs}
        write_json(run_dir / "metrics.json", metrics)
        return RunResult(run_dir, metrics)


@pytest.fixture
def fake_train(monkeypatch):
    """Replace the tuner's experiment runs by a FakeTrainer; return it."""
    trainer = FakeTrainer()
    monkeypatch.setattr(tuner_module, "run_experiment", trainer)
    return trainer


def tune_config(*overrides):
    """The default search config with overrides (a small budget unless overridden)."""
    return load_tune_config(None, ["tune.max_trials=6", "tune.population_size=3", *overrides])


def algorithm_config(algorithm: str):
    """A 6-trial search with ``algorithm`` (Bayesian: 5 random points, then its model)."""
    return tune_config(f"tune.algorithm={algorithm}", "tune.initial_points=5")
