"""How regression is scored: a split's metrics, the fit rules, the data summary.

The functions behind the regression task's ``split_metrics`` (MAE, MSE, RMSE and R²,
computed with scikit-learn), ``fit_scores``, ``data_summary``, ``analyses`` (none),
``output_histograms`` and ``importance_scores``.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

SUMMARY_KEYS = ("rmse", "mae", "r2", "mse")
METRIC_LABELS = {
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "mse": "MSE",
    "loss": "task.loss",
}


def predictions(outputs: np.ndarray, examples: int) -> np.ndarray:
    """The model's [n] or [n, 1] outputs as a float64 vector of ``examples`` predictions."""
    values = np.asarray(outputs, dtype=np.float64).reshape(examples, -1)
    if values.shape[1] != 1:
        raise ValueError(f"regression outputs: expected one value per example, got "
                         f"{values.shape[1]}")
    return values[:, 0]


def split_metrics(labels: np.ndarray, outputs: np.ndarray, spec=None, eval_cfg=None) -> dict:
    """One split's metrics.json entry: MAE, MSE, RMSE, R² (None below 2 examples), count."""
    y = np.asarray(labels, dtype=np.float64)
    pred = predictions(outputs, len(y))
    mse = float(skm.mean_squared_error(y, pred))
    return {
        "mae": float(skm.mean_absolute_error(y, pred)),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "r2": float(skm.r2_score(y, pred)) if len(y) >= 2 else None,
        "examples": int(len(y)),
    }


def fit_scores(metrics: dict, eval_cfg) -> dict:
    """Train and val RMSE, their gap, and the underfit (low train R²) / overfit (val RMSE
    far above train RMSE) rules of the config."""
    train, val = metrics["train"]["rmse"], metrics["val"]["rmse"]
    r2 = metrics["train"].get("r2")
    gap = val - train
    ratio = gap / max(train, 1e-12)
    low = r2 is not None and r2 < eval_cfg.underfit_r2
    return {
        "train": train, "val": val, "gap": gap,
        "underfit": (f"train R² {r2:.3f} is below evaluation.underfit_r2="
                     f"{eval_cfg.underfit_r2:g}: the model explains little of its own "
                     "training labels" if low else None),
        "overfit": (f"val RMSE exceeds train RMSE by {ratio:.0%} (> evaluation."
                    f"overfit_rmse_gap={eval_cfg.overfit_rmse_gap:g})"
                    if ratio > eval_cfg.overfit_rmse_gap else None),
        "fits": f"train R² {r2 if r2 is not None else float('nan'):.3f} and val RMSE "
                f"{ratio:+.0%} against train RMSE are within the thresholds",
    }


def _label_stats(y: np.ndarray) -> dict:
    """Mean, standard deviation, min and max of one split's labels."""
    y = np.asarray(y, dtype=np.float64)
    return {"mean": float(y.mean()), "std": float(y.std()), "min": float(y.min()),
            "max": float(y.max())}


def data_summary(splits) -> dict:
    """Split sizes and the label distribution (mean, std, min, max) per split."""
    parts = {s: getattr(splits, s).y for s in ("train", "val", "test")}
    return {"split_sizes": {s: len(y) for s, y in parts.items()},
            "label_stats": {s: _label_stats(y) for s, y in parts.items()}}


def analyses(labels: dict, outputs: dict, spec, eval_cfg, run_dir) -> dict:
    """Regression has no task-only analyses beyond its metrics and figures."""
    return {}


def output_histograms(outputs: np.ndarray) -> dict:
    """The predicted value of each example."""
    return {"prediction": (np.asarray(outputs).reshape(-1), "predicted value of each example")}


def importance_scores(outputs: np.ndarray, labels: np.ndarray) -> dict:
    """MSE and RMSE of [repeats, n(, 1)] predictions, one value per repeat."""
    pred = np.asarray(outputs, dtype=np.float64).reshape(outputs.shape[0], len(labels))
    mse = ((pred - np.asarray(labels, dtype=np.float64)[None]) ** 2).mean(axis=1)
    return {"loss": mse, "rmse": np.sqrt(mse), "loss_name": "MSE"}
