"""Classical scikit-learn baselines beside the network: is the big model worth it?

Reads the run's train and test splits (inputs flattened) and ``evaluation.baselines``
(``ridge`` is the linear baseline too: an L2-regularized logistic regression);
each baseline is a StandardScaler + classifier pipeline tuned by a small GridSearchCV
(3 stratified folds, macro F1) on the same train split the network trained on (at most
``evaluation.baseline_max_examples`` of it, stratified), then scored on the same test split
with the same metric function as the network. Class weights follow
``data.imbalance.class_weight``. Grids are kept small for a CPU.
"""

from __future__ import annotations

import time

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from bigmodel_tf.tasks.baseline_rows import fit_rows, train_subset
from bigmodel_tf.tasks.classification.metrics import classification_metrics

DISPLAY_NAMES = {
    "logistic_regression": "logistic regression",
    "ridge": "logistic regression",
    "svm": "SVM (RBF kernel)",
    "random_forest": "random forest",
    "gradient_boosting": "gradient boosting",
}


def _candidates(name: str, seed: int, class_weight: str | None):
    """The classifier and its parameter grid for one baseline name."""
    if name in ("logistic_regression", "ridge"):
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


def fit_baseline(name: str, x_train, y_train, x_test, y_test, eval_cfg, seed: int,
                 class_names, class_weight: str = "none") -> dict:
    """Tune one baseline on the train split and score it on the test split."""
    estimator, grid = _candidates(name, seed, "balanced" if class_weight == "balanced"
                                  else None)
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", estimator)])
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    search = GridSearchCV(pipeline, grid, cv=folds, scoring="f1_macro", n_jobs=1)
    started = time.perf_counter()
    # One BLAS/OpenMP thread: on a busy 2-core machine threaded BLAS spin-waiting made a
    # small logistic regression many times slower; the data is small.
    with threadpool_limits(limits=1):
        search.fit(x_train, y_train)
        probs = search.predict_proba(x_test)
    return {
        "name": DISPLAY_NAMES[name],
        "key": name,
        "test": classification_metrics(y_test, probs, class_names, eval_cfg.calibration_bins),
        "best_params": {k.split("__")[-1]: v for k, v in search.best_params_.items()},
        "cv_f1_macro": float(search.best_score_),
        "train_examples": int(len(y_train)),
        "fit_seconds": round(time.perf_counter() - started, 2),
    }


def baselines(splits, eval_cfg, seed: int, class_weight: str = "none") -> list[dict]:
    """Every configured baseline, tuned on train and scored on test (skipped ones say why)."""
    x_train, y_train, scored = train_subset(splits, eval_cfg.baseline_max_examples, seed,
                                            stratify=True)
    return fit_rows(eval_cfg.baselines, DISPLAY_NAMES, "accuracy", lambda name: fit_baseline(
        name, x_train, y_train, *scored["test"], eval_cfg, seed,
        splits.spec.class_names, class_weight))
