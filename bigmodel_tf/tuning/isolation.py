"""Trial isolation: each trial leaves nothing behind in the tuner's process.

KerasTuner's memory grows across trials (keras-team/keras-tuner#873). With TF 2.21 and
Keras 3.15, ``clear_session`` + ``gc.collect`` alone still leak memory with every trial
(README, Performance: design measurements), and the retained objects are the graphs of the
traced train step, kept alive by TensorFlow's global gradient registry: every trace of a
``tf.custom_gradient`` function registers a uniquely named ``CustomGradient-N`` entry that
is never removed. Dropping the entries a trial added, then clearing the Keras session and
collecting garbage, keeps memory flat (tests/tuning measure it across trials).
"""

from __future__ import annotations

import contextlib

import keras

from bigmodel_tf.compat import gradient_registry


@contextlib.contextmanager
def isolated_trial():
    """Run the body as one trial; afterwards free what it left in this process."""
    registry = gradient_registry()
    before = set(registry)
    try:
        yield
    finally:
        for name in [n for n in registry if n not in before]:
            if name.startswith("CustomGradient-"):
                del registry[name]
        keras.backend.clear_session(free_memory=True)  # also runs gc.collect()
