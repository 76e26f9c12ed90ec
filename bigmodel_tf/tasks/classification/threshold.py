"""Decision-threshold tuning for binary tasks, on the val split, usable at serving time.

A binary classifier predicts the positive class (``evaluation.positive_class``, default
class id 1) when its probability reaches a threshold; 0.5 is rarely the best choice on
imbalanced data. ``tune_threshold`` picks it
on the val split (``evaluation.threshold_objective``: the best F1, or the best precision
among thresholds that reach ``evaluation.target_recall``); ``threshold_report`` scores both
thresholds on val and test; ``write_threshold`` saves ``threshold.json`` in the run
directory; ``serving_threshold`` is the rule the exported ``class_id`` applies
(``export.threshold``: that tuned value, or a given probability), and ``apply_threshold``
the same rule in NumPy.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from sklearn import metrics as skm

from bigmodel_tf.errors import ConfigError
from bigmodel_tf.io import write_json

log = logging.getLogger("bigmodel_tf.tasks")
DEFAULT_THRESHOLD = 0.5
THRESHOLD_FILE = "threshold.json"


def positive_index(eval_cfg, class_names: list[str]) -> int:
    """Class id of ``evaluation.positive_class`` (default 1); ConfigError if it is unknown."""
    name = eval_cfg.positive_class
    if name is None:
        return 1
    if name not in class_names:
        raise ConfigError(f"evaluation.positive_class: expected one of {class_names}, "
                          f"got {name!r}")
    return class_names.index(name)


def apply_threshold(probabilities: np.ndarray, threshold: float, positive: int = 1) -> np.ndarray:
    """Class ids from [n, 2] probabilities: ``positive`` where its probability >= threshold."""
    hit = np.asarray(probabilities)[:, positive] >= threshold
    return np.where(hit, positive, 1 - positive).astype(np.int64)


def threshold_curve(y_true: np.ndarray, p_positive: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and F1 at every distinct threshold (``y_true``: 1 = positive)."""
    precision, recall, thresholds = skm.precision_recall_curve(y_true, p_positive)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return {"threshold": thresholds, "precision": precision, "recall": recall, "f1": f1}


def tune_threshold(
    y_true: np.ndarray, p_positive: np.ndarray, objective: str = "f1",
    target_recall: float = 0.95,
) -> float:
    """The val-split threshold that maximizes F1, or reaches ``target_recall`` most precisely.

    For the recall objective the highest threshold whose recall still reaches the target
    is chosen (ties broken by precision); if none does, the lowest threshold.
    """
    curve = threshold_curve(y_true, p_positive)
    if objective == "f1":
        return float(curve["threshold"][int(np.argmax(curve["f1"]))])
    reaching = np.flatnonzero(curve["recall"] >= target_recall)
    if not len(reaching):
        return float(curve["threshold"][0])
    best = reaching[np.argmax(curve["precision"][reaching])]
    return float(curve["threshold"][best])


def binary_scores(y_true: np.ndarray, probs: np.ndarray, threshold: float,
                  positive: int = 1) -> dict:
    """Accuracy, and precision, recall and F1 of the positive class, at one threshold."""
    y_pred = apply_threshold(probs, threshold, positive)
    kwargs = {"pos_label": positive, "zero_division": 0}
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(skm.precision_score(y_true, y_pred, **kwargs)),
        "recall": float(skm.recall_score(y_true, y_pred, **kwargs)),
        "f1": float(skm.f1_score(y_true, y_pred, **kwargs)),
    }


def threshold_report(probs: dict, labels: dict, eval_cfg, class_names: list[str]) -> dict:
    """The tuned threshold and the val/test scores at it and at 0.5 (for metrics.json)."""
    e = eval_cfg
    positive = positive_index(e, class_names)
    tuned = tune_threshold(labels["val"] == positive, probs["val"][:, positive],
                           e.threshold_objective, e.target_recall)
    return {
        "value": tuned,
        "objective": e.threshold_objective,
        "target_recall": e.target_recall if e.threshold_objective == "recall" else None,
        "positive_class": class_names[positive],
        "positive_class_id": positive,
        "tuned_on": "val",
        **{
            f"{split}_at_{name}": binary_scores(labels[split], probs[split], value, positive)
            for split in ("val", "test")
            for name, value in (("default", DEFAULT_THRESHOLD), ("tuned", tuned))
        },
    }


def write_threshold(report: dict, run_dir: Path) -> Path:
    """Save ``threshold.json`` (the value the exported ``class_id`` applies with
    ``export.threshold=tuned``) in the run directory."""
    path = run_dir / THRESHOLD_FILE
    write_json(path, {key: report[key] for key in ("value", "objective", "target_recall",
                                                    "positive_class", "positive_class_id",
                                                    "tuned_on")})
    return path


def serving_threshold(setting, eval_cfg, run_dir: Path, class_names: list[str]) -> dict | None:
    """The decision rule of a binary model's serving ``class_id`` (None: not binary).

    ``setting`` is ``export.threshold``: ``"tuned"`` reads the value the evaluation stage
    tuned on val from ``run_dir/threshold.json`` (0.5 when the run has none, e.g.
    evaluation was skipped), a number is used as it is. The positive class is
    ``evaluation.positive_class``.
    """
    if len(class_names) != 2:
        return None
    positive = positive_index(eval_cfg, class_names)
    if setting != "tuned":
        value, source = float(setting), "export.threshold"
    elif (Path(run_dir) / THRESHOLD_FILE).is_file():
        value = float(json.loads((Path(run_dir) / THRESHOLD_FILE).read_text())["value"])
        source = f"tuned on val ({THRESHOLD_FILE})"
    else:
        log.warning("export.threshold=tuned: %s has no %s; class_id uses %s", run_dir,
                    THRESHOLD_FILE, DEFAULT_THRESHOLD)
        value, source = DEFAULT_THRESHOLD, f"default (no {THRESHOLD_FILE})"
    return {"threshold": value, "positive_class": class_names[positive],
            "positive_class_id": positive, "source": source}
