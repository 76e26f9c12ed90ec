"""Training stage: strategy, optimizer and schedule, callbacks, and the train() entry.

``run_train``, ``TrainResult`` and ``compile_model`` load TensorFlow on first use, so the
light modules here (run_dir, workers, launcher) serve the CLI without it.
"""

import importlib

__all__ = ["TrainResult", "compile_model", "run_train"]


def __getattr__(name: str):
    """Import the train module when one of its public names is first used."""
    if name in __all__:
        return getattr(importlib.import_module("bigmodel_tf.training.train"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
