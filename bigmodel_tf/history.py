"""The per-epoch training history (history.csv written by Keras' CSVLogger) as columns.

Reads ``history.csv`` of a run directory; returns ``{column: [float per epoch]}`` with the
epochs in order (a resumed run may repeat an epoch: the last row wins).
"""

from __future__ import annotations

import csv
from pathlib import Path


def _number(text: str) -> float:
    """A CSV cell as a float (NaN when empty or not a number)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def read_history(path: Path) -> dict[str, list[float]]:
    """Columns of history.csv keyed by name, one value per epoch; {} when there is none."""
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = {int(row["epoch"]): row for row in csv.DictReader(handle) if row.get("epoch")}
    ordered = [rows[e] for e in sorted(rows)]
    if not ordered:
        return {}
    return {key: [_number(row[key]) for row in ordered] for key in ordered[0]}
