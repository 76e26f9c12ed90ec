"""What the evaluation stage receives of a run's sub-runs, and their headline numbers.

Cross-validation folds and data-size fractions are complete runs the experiments layer
trains in their own directories under the main run (experiments/subruns.py); it hands
their metrics.json here in a ``SubRuns``, and the evaluation stage summarizes them
(cv.py, data_size.py) without training anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from bigmodel_tf.tasks import TASK_NAMES, get_task

# every task's headline numbers (Task.summary_keys), in task order: a split's are those it has
TASKS = tuple(get_task(name) for name in TASK_NAMES)
SUMMARY_METRICS = tuple(dict.fromkeys(key for task in TASKS for key in task.summary_keys))


@dataclass(frozen=True)
class SubRuns:
    """The finished sub-runs of one run, for the evaluation stage to summarize."""

    folds: tuple[tuple[str, dict], ...] = ()  # (directory relative to the run, metrics.json)
    fractions: tuple[tuple[float, dict], ...] = ()  # (data.train_fraction, metrics.json)


NO_SUBRUNS = SubRuns()


def summary_metrics(split_metrics: dict) -> dict:
    """The headline numbers of one split (no per-class tables) for sub-run tables."""
    return {key: split_metrics[key] for key in SUMMARY_METRICS if key in split_metrics}


def metrics_task(split_metrics: dict):
    """The task whose headline is among one split's metrics (tables of sub-runs)."""
    return next(task for task in TASKS if task.headline in split_metrics)
