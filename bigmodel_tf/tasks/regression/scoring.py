"""Placeholder of the regression split metrics (the tasks-eval helper's module replaces it)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error


def split_metrics(labels, outputs, spec, eval_cfg) -> dict:
    """One split's MAE, RMSE and R² (predictions [n] or [n, 1] against labels [n])."""
    predictions = np.ravel(outputs)
    return {"examples": int(len(labels)), "mae": float(mean_absolute_error(labels, predictions)),
            "rmse": float(root_mean_squared_error(labels, predictions)),
            "r2": float(r2_score(labels, predictions))}
