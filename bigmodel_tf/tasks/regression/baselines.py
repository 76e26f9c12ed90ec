"""Classical scikit-learn regressors beside the network: is the big model worth it?

``evaluation.baselines`` names the kinds of model, and regression builds its own of each:
``ridge`` (or ``logistic_regression``, the linear baseline of either task) is Ridge, ``svm``
an RBF-kernel SVR, ``random_forest`` a RandomForestRegressor and ``gradient_boosting`` a
GradientBoostingRegressor. Each is a StandardScaler + regressor pipeline (the target
standardized too) tuned by a small seeded GridSearchCV (3 shuffled folds, RMSE, n_jobs=1)
on the train split the network trained on (at most ``evaluation.baseline_max_examples``
of it), then scored on the val and test splits with the same metric function as the network.
"""

from __future__ import annotations

import time

from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from threadpoolctl import threadpool_limits

from bigmodel_tf.tasks.baseline_rows import fit_rows, train_subset
from bigmodel_tf.tasks.regression.scoring import split_metrics

DISPLAY_NAMES = {
    "ridge": "ridge regression",
    "logistic_regression": "ridge regression",
    "svm": "SVR (RBF kernel)",
    "random_forest": "random forest",
    "gradient_boosting": "gradient boosting",
}


def _candidates(name: str, seed: int):
    """The regressor and its parameter grid (keys of the pipeline's ``reg`` step)."""
    if name in ("ridge", "logistic_regression"):
        return Ridge(), {"alpha": [0.01, 0.1, 1.0, 10.0, 100.0]}
    if name == "svm":
        return SVR(), {"C": [1.0, 10.0, 100.0]}
    if name == "random_forest":
        return RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1), {
            "max_depth": [None, 12], "min_samples_leaf": [1, 3]}
    return GradientBoostingRegressor(n_estimators=200, random_state=seed), {
        "learning_rate": [0.05, 0.1], "max_depth": [2, 3]}


def fit_baseline(name: str, x_train, y_train, scored: dict, seed: int) -> dict:
    """Tune one regressor on the train split; score it on each split of ``scored``
    ({split: (x, y)})."""
    estimator, grid = _candidates(name, seed)
    model = TransformedTargetRegressor(
        Pipeline([("scale", StandardScaler()), ("reg", estimator)]), transformer=StandardScaler())
    search = GridSearchCV(model, {f"regressor__reg__{k}": v for k, v in grid.items()},
                          cv=KFold(3, shuffle=True, random_state=seed),
                          scoring="neg_root_mean_squared_error", n_jobs=1)
    started = time.perf_counter()
    with threadpool_limits(limits=1):  # small data: threaded BLAS only spin-waits
        search.fit(x_train, y_train)
        results = {split: split_metrics(y, search.predict(x)) for split, (x, y) in
                   scored.items()}
    return {
        "name": DISPLAY_NAMES[name],
        "key": name,
        **results,
        "best_params": {k.split("__")[-1]: v for k, v in search.best_params_.items()},
        "cv_rmse": float(-search.best_score_),
        "train_examples": int(len(y_train)),
        "fit_seconds": round(time.perf_counter() - started, 2),
    }


def baselines(splits, eval_cfg, seed: int, class_weight: str = "none") -> list[dict]:
    """Every configured baseline, tuned on train and scored on val and test (skipped ones
    say why); ``class_weight`` does not apply to regression."""
    x_train, y_train, scored = train_subset(splits, eval_cfg.baseline_max_examples, seed,
                                            stratify=False)
    return fit_rows(eval_cfg.baselines, DISPLAY_NAMES, "rmse",
                    lambda name: fit_baseline(name, x_train, y_train, scored, seed))
