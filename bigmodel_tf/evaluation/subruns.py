"""What the evaluation stage receives of a run's sub-runs, and their headline numbers.

Cross-validation folds and data-size fractions are complete runs the experiments layer
trains in their own directories under the main run (experiments/subruns.py); it hands
their metrics.json here in a ``SubRuns``, and the evaluation stage summarizes them
(cv.py, data_size.py) without training anything.
"""

from __future__ import annotations

from dataclasses import dataclass

SUMMARY_METRICS = ("accuracy", "loss", "precision_macro", "recall_macro", "f1_macro",
                   "roc_auc", "pr_auc", "ece")


@dataclass(frozen=True)
class SubRuns:
    """The finished sub-runs of one run, for the evaluation stage to summarize."""

    folds: tuple[tuple[str, dict], ...] = ()  # (directory relative to the run, metrics.json)
    fractions: tuple[tuple[float, dict], ...] = ()  # (data.train_fraction, metrics.json)


NO_SUBRUNS = SubRuns()


def summary_metrics(split_metrics: dict) -> dict:
    """The headline numbers of one split (no per-class tables) for sub-run tables."""
    return {key: split_metrics.get(key) for key in SUMMARY_METRICS}
