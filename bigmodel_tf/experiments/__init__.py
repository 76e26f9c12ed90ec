"""The experiments layer: one run as train -> evaluate -> export -> metrics.json, and the
loops over it.

``run(cfg, run_dir) -> RunResult`` (runner.py) decides when each stage runs; the stages
(training, evaluation, export) never call each other. The loops over ``run``: the
cross-validation folds and data-size fractions of a run (runner.py), the multi-worker
placement (workers.py), ``bigmodel evaluate``'s sub-runs (evaluate.py) and the tuner's
trials (tuning/tuner.py). ``run`` loads TensorFlow on first use, so importing this package
stays light.
"""

import importlib

__all__ = ["RunResult", "run"]


def __getattr__(name: str):
    """Import the runner module when one of its public names is first used."""
    if name in __all__:
        return getattr(importlib.import_module("bigmodel_tf.experiments.runner"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
