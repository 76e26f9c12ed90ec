"""The summary of k-fold cross-validation (``train.cv_folds`` = K, ``bigmodel train --cv K``).

The experiments layer trains the folds (experiments/subruns.py): fold k is a run in
``<run>/cv/fold_<k>`` with fold k of the pooled train and val splits as its val split,
scored on its val fold and on the unchanged test split. This module summarizes their
metrics: ``cv.csv`` (one row per fold, then the mean and the sample standard deviation)
and the table for metrics.json and the report. Nothing here trains.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from bigmodel_tf.evaluation.subruns import summary_metrics
from bigmodel_tf.io import atomic_write


def _aggregate(folds: list[dict], statistic) -> dict:
    """``statistic`` over the folds of every split and metric (None if a fold lacks it)."""
    result = {}
    for split in ("val", "test"):
        result[split] = {}
        for key in folds[0][split]:
            values = [f[split][key] for f in folds]
            result[split][key] = (None if any(v is None for v in values)
                                  else float(statistic(np.asarray(values, dtype=np.float64))))
    return result


def summarize_folds(folds: list[dict]) -> dict:
    """Mean and sample standard deviation (ddof=1) of every metric across the folds."""
    return {
        "folds": len(folds),
        "per_fold": folds,
        "mean": _aggregate(folds, np.mean),
        "std": _aggregate(folds, lambda v: v.std(ddof=1)),
    }


def write_cv_table(summary: dict, path: Path) -> None:
    """cv.csv: one row per fold, then ``mean`` and ``std`` rows (atomically)."""
    keys = list(summary["mean"]["val"])  # the folds' summary metrics
    columns = [f"{split}_{key}" for split in ("val", "test") for key in keys]
    rows = [{"fold": f["fold"], "epochs_run": f["epochs_run"],
             **{f"{s}_{k}": f[s][k] for s in ("val", "test") for k in keys}}
            for f in summary["per_fold"]]
    for name in ("mean", "std"):
        rows.append({"fold": name, "epochs_run": "",
                     **{f"{s}_{k}": summary[name][s][k] for s in ("val", "test")
                        for k in keys}})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["fold", "epochs_run", *columns])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue())


def cross_validation(folds: list[tuple[str, dict]], run_dir: Path) -> dict:
    """The per-fold table with mean ± std of the trained folds, ``(directory relative to
    the run, metrics.json)`` each in fold order; writes ``run_dir/cv.csv``."""
    rows = [{
        "fold": fold,
        "run_dir": relative,
        "epochs_run": metrics.get("epochs_run"),
        "val": summary_metrics(metrics["val"]),
        "test": summary_metrics(metrics["test"]),
    } for fold, (relative, metrics) in enumerate(folds)]
    summary = summarize_folds(rows)
    write_cv_table(summary, run_dir / "cv.csv")
    return summary
