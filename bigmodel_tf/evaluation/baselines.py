"""Classical scikit-learn baselines beside the network: is the big model worth it?

Reads the run's train and test splits (inputs flattened) and ``evaluation.baselines``;
each baseline is a StandardScaler + classifier pipeline tuned by a small GridSearchCV
(3 stratified folds, macro F1) on the same train split the network trained on (at most
``evaluation.baseline_max_examples`` of it, stratified), then scored on the same test split
with the same metric function as the network. Class weights follow
``data.imbalance.class_weight``. Grids are kept small for a CPU.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from bigmodel_tf.evaluation.metrics import classification_metrics

log = logging.getLogger("bigmodel_tf.evaluation")
DISPLAY_NAMES = {
    "logistic_regression": "logistic regression",
    "svm": "SVM (RBF kernel)",
    "random_forest": "random forest",
    "gradient_boosting": "gradient boosting",
}


def _candidates(name: str, seed: int, class_weight: str | None):
    """The classifier and its parameter grid for one baseline name."""
    if name == "logistic_regression":
        return LogisticRegression(max_iter=5000, class_weight=class_weight), {
            "clf__C": [0.1, 1.0, 10.0]}
    if name == "svm":
        # Platt-scaled probabilities (for log loss and ROC-AUC) from a sigmoid calibrated on
        # internal CV predictions; SVC(probability=True) is deprecated in scikit-learn 1.9.
        svm = SVC(class_weight=class_weight, random_state=seed)
        return CalibratedClassifierCV(svm, method="sigmoid", cv=3, ensemble=False), {
            "clf__estimator__C": [1.0, 10.0]}
    if name == "random_forest":
        return RandomForestClassifier(
            n_estimators=100, class_weight=class_weight, random_state=seed, n_jobs=1
        ), {"clf__max_depth": [None, 12], "clf__min_samples_leaf": [1, 3]}
    return HistGradientBoostingClassifier(class_weight=class_weight, random_state=seed), {
        "clf__learning_rate": [0.05, 0.2]}


def _train_subset(x: np.ndarray, y: np.ndarray, limit: int, seed: int):
    """At most ``limit`` train examples, a seeded stratified subset when there are more."""
    if len(y) <= limit:
        return x, y
    keep, _ = train_test_split(np.arange(len(y)), train_size=limit, stratify=y,
                               random_state=seed)
    return x[keep], y[keep]


def fit_baseline(name: str, x_train, y_train, x_test, y_test, cfg, class_names) -> dict:
    """Tune one baseline on the train split and score it on the test split."""
    class_weight = "balanced" if cfg.data.imbalance.class_weight == "balanced" else None
    estimator, grid = _candidates(name, cfg.seed, class_weight)
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", estimator)])
    folds = StratifiedKFold(3, shuffle=True, random_state=cfg.seed)
    search = GridSearchCV(pipeline, grid, cv=folds, scoring="f1_macro", n_jobs=1)
    started = time.perf_counter()
    # One BLAS/OpenMP thread: on a busy 2-core machine, threaded BLAS spin-waiting made a
    # logistic regression on iris 20x slower (1.0 s vs 0.05 s, measured); the data is small.
    with threadpool_limits(limits=1):
        search.fit(x_train, y_train)
        probs = search.predict_proba(x_test)
    seconds = time.perf_counter() - started
    return {
        "name": DISPLAY_NAMES[name],
        "key": name,
        "test": classification_metrics(y_test, probs, class_names,
                                       cfg.evaluation.calibration_bins),
        "best_params": {k.split("__")[-1]: v for k, v in search.best_params_.items()},
        "cv_f1_macro": float(search.best_score_),
        "train_examples": int(len(y_train)),
        "fit_seconds": round(seconds, 2),
    }


def run_baselines(splits, cfg) -> list[dict]:
    """Every configured baseline, tuned on train and scored on test (skipped ones say why)."""
    flat = {name: getattr(splits, name).x.reshape(len(getattr(splits, name).y), -1)
            for name in ("train", "test")}
    x_train, y_train = _train_subset(flat["train"], splits.train.y,
                                     cfg.evaluation.baseline_max_examples, cfg.seed)
    rows = []
    for name in cfg.evaluation.baselines:
        try:
            rows.append(fit_baseline(name, x_train, y_train, flat["test"], splits.test.y,
                                     cfg, splits.spec.class_names))
        except ValueError as exc:  # e.g. a class with fewer train examples than CV folds
            reason = str(exc).splitlines()[0]
            log.warning("baseline %s skipped: %s", name, reason)
            rows.append({"name": DISPLAY_NAMES[name], "key": name, "skipped": reason})
            continue
        log.info("baseline %s: test accuracy %.4f (%.1f s)", name,
                 rows[-1]["test"]["accuracy"], rows[-1]["fit_seconds"])
    return rows
