"""TensorBoard HParams for a search: every trial in one HParams dashboard.

Writes, with ``tensorboard.plugins.hparams.api``: the experiment (the searched keys with
their domains, the trial's epochs, and the metrics shown as columns) to
``<search>/tensorboard``, and for each trial execution, once it has trained, its
hyperparameter values and final metrics (from metrics.json) into the run directory's
``tensorboard/`` — the same folder whose ``train/`` and ``validation/`` curves Keras'
TensorBoard callback writes. ``tensorboard --logdir <search>`` then lists every trial.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp_api

from bigmodel_tf.tuning.settings import metric_value

EPOCHS = "epochs"  # the trial's epochs (Hyperband varies them)
OBJECTIVE = "objective"
# Final metrics shown as HParams columns (dotted paths into metrics.json).
METRICS = ("val.accuracy", "val.loss", "val.f1_macro", "test.accuracy", "test.f1_macro",
           "epochs_run")


def _domain(spec: dict):
    """The HParams domain of one resolved space spec."""
    if spec["type"] == "int":
        return hp_api.IntInterval(int(spec["min"]), int(spec["max"]))
    if spec["type"] == "float":
        return hp_api.RealInterval(float(spec["min"]), float(spec["max"]))
    if spec["type"] == "bool":
        return hp_api.Discrete([False, True])
    return hp_api.Discrete(list(spec["values"]))


def _write(logdir: Path, write) -> None:
    """Run ``write()`` with a summary writer on ``logdir`` as the default."""
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        write()
    writer.close()


def write_experiment(logdir: Path, space: dict, objective: str, max_epochs: int) -> None:
    """The experiment summary: searched keys, their domains and the metric columns."""
    hparams = [hp_api.HParam(key, _domain(spec)) for key, spec in space.items()]
    hparams.append(hp_api.HParam(EPOCHS, hp_api.IntInterval(1, max_epochs)))
    metrics = [hp_api.Metric(OBJECTIVE, display_name=f"objective ({objective})")]
    metrics += [hp_api.Metric(name) for name in METRICS if name != objective]
    _write(logdir, lambda: hp_api.hparams_config(hparams=hparams, metrics=metrics))


def write_trial(logdir: Path, values: dict, trial_id: str, metrics: dict, objective: str,
                start_time: float) -> None:
    """One trial execution as an HParams session: its values and its final metrics.

    Executions of one trial share ``trial_id``, so the dashboard groups them.
    """
    def write():
        hp_api.hparams(values, trial_id=trial_id, start_time_secs=start_time)
        for tag, name in ((OBJECTIVE, objective), *((m, m) for m in METRICS)):
            try:
                value = metric_value(metrics, name)
            except KeyError:
                continue
            if value is not None:
                tf.summary.scalar(tag, value, step=0)

    _write(logdir, write)
