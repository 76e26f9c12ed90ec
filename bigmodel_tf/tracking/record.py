"""``tracking.json``: which tracker run a run directory logs to, and what was not logged.

It is written by the tracker into the folder it tracks (a run or search directory) once
that folder exists, and again when the run ends. A resumed run reads it to log into the
same tracker run instead of starting a new one; a tuning worker reads its search's to
nest its trials under the search's run.
"""

from __future__ import annotations

import json
from pathlib import Path

RECORD_FILE = "tracking.json"


def read_record(record_dir: Path) -> dict:
    """The folder's tracking.json, or {} when it has none (or an unreadable one)."""
    try:
        record = json.loads((Path(record_dir) / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def recorded_run_id(record_dir: Path) -> str | None:
    """The tracker run id that ``record_dir``'s tracking.json names, if any."""
    return read_record(record_dir).get("run_id")
