"""Every use of a private Keras, KerasTuner or TensorFlow API, each in one small function.

The versions these were written and tested against are pinned below; each function says
what it works around and why no public API does it. A library upgrade is checked here
first (tests/training, tests/tuning and tests/test_compat.py exercise every function), and
no other module imports ``keras.src`` or ``tensorflow.python`` (tests/test_compat.py).
"""

from __future__ import annotations

import os

PINNED = {"keras": "3.15.1", "keras-tuner": "1.4.8", "tensorflow": "2.21.0"}

# ---------------------------------------------------------------- Keras 3.15

_SKIPSET_TYPES = ("Operation", "Layer", "Functional", "Sequential", "Metric", "Optimizer",
                  "Loss")


def warm_keras_saving() -> None:
    """Fill Keras' attribute-skipset cache under the key its lookup uses (this thread).

    Keras 3.15's ``keras.src.saving.saving_lib.get_attr_skipset`` stores its per-type cache
    under ``saving_attr_skipset_*`` but reads ``saving_attr_skiplist_*``, so every save
    builds throw-away layers and optimizers again (most of the time of saving a small
    model). Filling the key it reads makes saving faster, with the same files. No upstream
    issue was found; the cache is per thread (Keras' global state is thread-local).
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.saving import saving_lib
    except ImportError:  # a Keras whose internals moved: saving is just slower
        return
    for kind in _SKIPSET_TYPES:
        key = f"saving_attr_skiplist_{kind}"
        if global_state.get_global_attribute(key) is None:
            global_state.set_global_attribute(key, saving_lib.get_attr_skipset(kind))


def ema_pairs(optimizer) -> list[tuple]:
    """(trainable variable, its moving average) pairs of a Keras 3 optimizer with use_ema.

    Keras keeps the averages in ``_model_variables_moving_average`` in the order of
    ``_trainable_variables``; its public ``finalize_variable_values`` overwrites the weights
    for good and ``keras.callbacks.SwapEMAWeights`` (keras-team/keras#18949) does not reach
    the inner optimizer of a loss-scale wrapper, so swapping for validation reads them.
    """
    return list(zip(optimizer._trainable_variables,
                    optimizer._model_variables_moving_average, strict=True))


def set_initial_epoch(model, epoch: int | None) -> None:
    """Set the epoch ``model.fit`` starts from, as Keras' BackupAndRestore does on restore.

    Keras 3's ``fit`` reads ``model._initial_epoch`` (set by ``BackupAndRestore``,
    keras-team/keras#19179) over its ``initial_epoch`` argument; there is no public setter.
    """
    model._initial_epoch = epoch


def initial_epoch(model) -> int:
    """The epoch a restore asked training to start from (0 when none did)."""
    return getattr(model, "_initial_epoch", None) or 0


# ---------------------------------------------------------------- KerasTuner 1.4.8


def is_tuner_worker(tuner) -> bool:
    """Whether a KerasTuner tuner runs as a worker of a distributed search (not the chief)."""
    return tuner._is_worker()


class SharedTunerStateFile:
    """Tuner mix-in: the chief and a local search write the same state file.

    KerasTuner names the tuner's state file after ``tuner_id`` (``tuner0.json`` locally,
    ``$KERASTUNER_TUNER_ID.json`` in a distributed search), so a search started one way
    cannot resume the other; ``_get_tuner_fname`` is the only hook for the name.
    """

    def _get_tuner_fname(self):
        """One state file for the chief or a local search, so either can resume the other."""
        name = f"{self.tuner_id}.json" if is_tuner_worker(self) else "tuner.json"
        return os.path.join(str(self.project_dir), name)


def requeue_running_trials(oracle) -> None:
    """Queue again the trials a reloaded oracle still marks RUNNING (cut by an interruption).

    KerasTuner's ``reload`` keeps such trials RUNNING and never hands them out again
    (keras-team/keras-tuner#439); its retry queue, ``_retry_queue``, is what ``create_trial``
    serves first.
    """
    from keras_tuner.engine.trial import TrialStatus

    queued = set(oracle._retry_queue)
    for trial_id, trial in oracle.trials.items():
        if trial.status == TrialStatus.RUNNING and trial_id not in queued:
            oracle._retry_queue.append(trial_id)


def grid_search_state(oracle) -> dict:
    """A GridSearchOracle's trial order and the trials still to expand, for its saved state.

    GridSearchOracle does not save them (keras-team/keras-tuner#1055: a resumed grid search
    dies with a KeyError); the order is a linked list whose head hangs off the None key.
    """
    linked, ids = oracle._ordered_ids, []
    index = linked._next_index[None]
    while index is not None:
        ids.append(linked._memory[index])
        index = linked._next_index[index]
    return {"ordered_ids": ids, "populate_next": list(oracle._populate_next)}


def restore_grid_search_state(oracle, state: dict) -> None:
    """Restore what ``grid_search_state`` saved into a GridSearchOracle."""
    oracle._ordered_ids = type(oracle._ordered_ids)()
    for trial_id in state["ordered_ids"]:
        oracle._ordered_ids.insert(trial_id)
    oracle._populate_next = list(state["populate_next"])


# ---------------------------------------------------------------- TensorFlow 2.21


def gradient_registry() -> dict:
    """TensorFlow's registry of gradient functions (empty if this TF version hides it).

    Every trace of a ``tf.custom_gradient`` function registers a uniquely named
    ``CustomGradient-N`` entry that is never removed, which keeps each traced graph alive
    (keras-team/keras-tuner#873); only the private registry lets a trial drop its entries.
    """
    from tensorflow.python.framework import ops

    registry = getattr(ops, "_gradient_registry", None)
    return getattr(registry, "_registry", {})
