"""Training stage: strategy, optimizer and schedule, callbacks, and the ``train`` entry.

``train(cfg, run_dir) -> TrainResult`` (trainer.py) trains the model into the run
directory and returns it with its splits, history and facts; it never evaluates or
exports (the experiments layer runs those). ``train``, ``TrainResult`` and
``compile_model`` load TensorFlow on first use, so the light modules here (run_dir,
workers, launcher) serve the CLI without it.
"""

import importlib

__all__ = ["TrainResult", "compile_model", "train"]


def __getattr__(name: str):
    """Import the trainer module when one of its public names is first used."""
    if name in __all__:
        return getattr(importlib.import_module("bigmodel_tf.training.trainer"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
