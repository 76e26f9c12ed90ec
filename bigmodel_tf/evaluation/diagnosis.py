"""Fit diagnosis (overfit, underfit or good_fit) from the curves and the train–val gap, and advice.

Reads the evaluated train/val metrics, the per-epoch history (history.csv columns) and the
thresholds in ``cfg.evaluation``; returns a plain dict for metrics.json and the report. The
run's task reads its own scores (``Task.fit_scores``):

* underfit: the model cannot fit its own data (classification: train accuracy below
  ``underfit_accuracy``; regression: train R² below ``underfit_r2``);
* overfit: val is worse than train by more than the task's gap (classification: accuracy
  gap above ``overfit_gap``; regression: val RMSE above train RMSE by more than
  ``overfit_rmse_gap``, relative), or the val loss curve ended more than
  ``overfit_loss_rise`` (relative) above its minimum while the train loss kept falling;
* good_fit otherwise.

The advice names the exact config keys to change, with the current and a suggested value.
"""

from __future__ import annotations

import numpy as np

from bigmodel_tf.config import AugmentConfig, ModelConfig, TrainConfig

LABELS = ("good_fit", "overfit", "underfit")
STILL_FALLING = 0.02  # train loss fell > 2 % in the last epoch (relative)


def _curve_facts(history: dict[str, list[float]]) -> dict:
    """Best val-loss epoch, the val loss rise after it, and whether train loss still fell."""
    val_loss = np.asarray(history.get("val_loss", []), dtype=np.float64)
    loss = np.asarray(history.get("loss", []), dtype=np.float64)
    if len(val_loss) == 0 or not np.isfinite(val_loss).all():
        return {}
    best = int(np.argmin(val_loss))
    facts = {
        "epochs": len(val_loss),
        "best_val_loss_epoch": best + 1,
        "val_loss_rise": float((val_loss[-1] - val_loss[best]) / max(val_loss[best], 1e-12)),
        "train_loss_fell_after_best": bool(len(loss) == len(val_loss) and loss[-1] < loss[best]),
        "train_loss_last_drop": 0.0,
    }
    if len(loss) >= 2 and loss[-2] > 0:
        facts["train_loss_last_drop"] = float((loss[-2] - loss[-1]) / loss[-2])
    # Not converged: both curves were still improving when training stopped.
    facts["still_improving"] = bool(facts["train_loss_last_drop"] > STILL_FALLING
                                    and best == len(val_loss) - 1)
    return facts


def _label(scores: dict, facts: dict, e) -> tuple[str, list[str]]:
    """The diagnosis label and the measurements that decided it, in words."""
    if scores["underfit"]:
        label, reasons = "underfit", [scores["underfit"]]
    elif scores["overfit"]:
        label, reasons = "overfit", [scores["overfit"]]
    elif facts and facts["val_loss_rise"] > e.overfit_loss_rise and facts[
            "train_loss_fell_after_best"]:
        label, reasons = "overfit", [
            f"the val loss rose {facts['val_loss_rise']:.0%} above its minimum "
            f"(> evaluation.overfit_loss_rise={e.overfit_loss_rise:g}) while the train loss "
            "kept falling"]
    else:
        label, reasons = "good_fit", [scores["fits"]]
    if facts and facts["epochs"] > 1:
        reasons.append(f"val loss was lowest at epoch {facts['best_val_loss_epoch']} of "
                       f"{facts['epochs']} and ended {facts['val_loss_rise']:.0%} above it")
        if facts["still_improving"]:
            reasons.append(f"the train loss was still falling ({facts['train_loss_last_drop']:.0%}"
                           " in the last epoch) and the val loss was at its lowest: training "
                           "had not converged")
    return label, reasons


def _step(key: str, current, suggested, why: str) -> dict:
    """One piece of advice: a config key, its current value, a suggested value and why."""
    return {"key": key, "current": current, "suggested": suggested, "why": why}


def _overfit_advice(m: ModelConfig, t: TrainConfig, a: AugmentConfig, kind: str) -> list[dict]:
    """Config changes that reduce overfitting: regularize, augment (``a``, for ``kind``
    image), stop early, more data."""
    steps = [
        _step("model.dropout", m.dropout, round(min(m.dropout + 0.2, 0.5), 2),
              "more dropout regularizes the network"),
        _step("model.l2", m.l2, m.l2 * 10 if m.l2 else 1e-4, "weight decay (L2) shrinks weights"),
    ]
    if kind == "image":
        steps.append(_step("data.augment.rotation", a.rotation, max(a.rotation, 0.05),
                           "augmentation shows the model more varied images"))
        steps.append(_step("data.augment.translation", a.translation, max(a.translation, 0.1),
                           "augmentation shows the model more varied images"))
    if t.early_stopping_patience == 0:
        steps.append(_step("train.early_stopping_patience", 0, 8,
                           "early stopping keeps the epoch with the best val loss"))
    steps.append(_step("model.width", m.width, max(m.width // 2, 1),
                       "a smaller model has less capacity to memorize"))
    steps.append(_step("data (more examples)", None, None,
                       "more training data; evaluation.data_size_fractions=[0.25,0.5] draws "
                       "the learning curve by data size to tell whether it would help"))
    return steps


def _underfit_advice(m: ModelConfig, t: TrainConfig, facts: dict) -> list[dict]:
    """Config changes that reduce underfitting: bigger model, longer, less regularization."""
    steps = []
    if m.name == "mlp" and m.depth == 0:
        steps.append(_step("model.depth", 0, 2, "depth 0 is a linear model; add hidden layers"))
    else:
        steps.append(_step("model.depth", m.depth, m.depth + 1, "a deeper model fits more"))
    steps.append(_step("model.width", m.width, m.width * 2, "a wider model fits more"))
    if not facts or facts["still_improving"] or t.epochs < 10:
        steps.append(_step("train.epochs", t.epochs, max(t.epochs * 3, 30),
                           "train longer: the loss had not flattened"))
    if m.dropout > 0:
        steps.append(_step("model.dropout", m.dropout, round(m.dropout / 2, 3),
                           "less regularization lets the model fit"))
    for key, value in (("model.l1", m.l1), ("model.l2", m.l2)):
        if value > 0:
            steps.append(_step(key, value, 0.0, "less regularization lets the model fit"))
    steps.append(_step("train.learning_rate", t.learning_rate,
                       float(f"{t.learning_rate * 3:.3g}"), "a higher rate converges faster"))
    return steps


def _good_fit_advice(epochs: int, facts: dict) -> list[dict]:
    """Nothing to fix, unless training (of ``epochs``) stopped before the curves flattened."""
    if facts and facts["still_improving"]:
        return [_step("train.epochs", epochs, epochs * 2,
                      "train and val loss were still falling when training stopped")]
    return []


def diagnose(metrics: dict, history: dict[str, list[float]], cfg, kind: str, task) -> dict:
    """The fit diagnosis of a run: label, reasons, advice and the numbers behind them."""
    scores = task.fit_scores(metrics, cfg.evaluation)
    facts = _curve_facts(history)
    label, reasons = _label(scores, facts, cfg.evaluation)
    advice = {"overfit": lambda: _overfit_advice(cfg.model, cfg.train, cfg.data.augment, kind),
              "underfit": lambda: _underfit_advice(cfg.model, cfg.train, facts),
              "good_fit": lambda: _good_fit_advice(cfg.train.epochs, facts)}[label]()
    return {
        "label": label,
        f"train_{task.headline}": scores["train"],
        f"val_{task.headline}": scores["val"],
        "train_val_gap": scores["gap"],
        **facts,
        "reasons": reasons,
        "advice": advice,
    }


def set_command(advice: list[dict]) -> str:
    """The ``--set`` arguments that apply the advice's suggested values."""
    pairs = [f"{a['key']}={a['suggested']:g}" if isinstance(a["suggested"], float)
             else f"{a['key']}={a['suggested']}"
             for a in advice if a["suggested"] is not None]
    return "--set " + " ".join(pairs) if pairs else ""
