"""The typed config changes of the runs the experiments layer makes beside the main one.

``METRICS_ONLY``: a run whose metrics are all that is needed (a tuning trial, a non-chief
worker's copy) skips the export and the costly extras: the scikit-learn baselines (the
same for every trial) and the interpretation (for the chosen model). ``LIGHT_SETTINGS``:
a sub-run (cross-validation fold, data-size fraction) also has no sub-runs or profiling
of its own, is not tracked (``UNTRACKED``: its numbers are in its parent's metrics) and
trains quietly. A non-chief worker's copy is METRICS_ONLY and UNTRACKED.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

METRICS_ONLY: Mapping[str, Any] = {
    "export.enabled": False,
    "evaluation.baselines": [],
    "evaluation.interpret": False,
}
UNTRACKED: Mapping[str, Any] = {"tracking.backend": "none"}
LIGHT_SETTINGS: Mapping[str, Any] = {
    **METRICS_ONLY,
    **UNTRACKED,
    "evaluation.data_size_fractions": [],
    "evaluation.profile_batches": [],
    "train.cv_folds": 0,
    "train.verbose": 0,
}
