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


def train_subset(splits, limit: int, seed: int, stratify: bool):
    """(x, y) of at most ``limit`` train examples, and every split's inputs flattened."""
    flat = {name: getattr(splits, name).x.reshape(len(getattr(splits, name).y), -1)
            for name in ("train", "val", "test")}
    x, y = flat["train"], splits.train.y
    if len(y) <= limit:
        return x, y, flat
    keep, _ = train_test_split(np.arange(len(y)), train_size=limit,
                               stratify=y if stratify else None, random_state=seed)
    return x[keep], y[keep], flat


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
