"""Atomic writes of the evaluation stage's text files (report.md, threshold.json, cv.csv).

A file is written to a hidden temporary name beside its target and renamed into place,
so a reader never sees it half-written (the error contract).
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_json(path: Path, content) -> Path:
    """Write ``content`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(content, indent=2))
