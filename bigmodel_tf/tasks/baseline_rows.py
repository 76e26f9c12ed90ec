"""What every task's scikit-learn baselines share: the train subset and the rows of results.

Each task's ``baselines`` module builds its own estimators and scores; this module caps the
train split at ``evaluation.baseline_max_examples`` (seeded; stratified for classes), and
turns a list of baseline names into metrics.json rows, a baseline that cannot be fitted on
this data (e.g. fewer examples of a class than CV folds) becoming a row that says why.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.model_selection import train_test_split

log = logging.getLogger("bigmodel_tf.evaluation")


def _rows(split, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """(x flattened, y) of a split: all of an in-memory one, at most ``limit`` of the
    first examples of a streamed one (its stored order is already shuffled)."""
    x, y = split.load() if split.in_memory else split.head(limit)
    return x.reshape(len(y), -1), y


def train_subset(splits, limit: int, seed: int, stratify: bool):
    """(x, y) of at most ``limit`` train examples (seeded, stratified if asked), and
    {"val": (x, y), "test": (x, y)}, the inputs flattened."""
    scored = {name: _rows(getattr(splits, name), limit) for name in ("val", "test")}
    x, y = _rows(splits.train, limit)
    if len(y) <= limit:
        return x, y, scored
    keep, _ = train_test_split(np.arange(len(y)), train_size=limit,
                               stratify=y if stratify else None, random_state=seed)
    return x[keep], y[keep], scored


def fit_rows(names: list[str], display: dict[str, str], headline: str, fit) -> list[dict]:
    """``fit(name)`` for every baseline name; a ValueError becomes a skipped row."""
    rows = []
    for name in names:
        try:
            rows.append(fit(name))
        except ValueError as exc:
            reason = str(exc).splitlines()[0]
            log.warning("baseline %s skipped: %s", name, reason)
            rows.append({"name": display[name], "key": name, "skipped": reason})
            continue
        log.info("baseline %s: test %s %.4f (%.1f s)", name, headline,
                 rows[-1]["test"][headline], rows[-1]["fit_seconds"])
    return rows
