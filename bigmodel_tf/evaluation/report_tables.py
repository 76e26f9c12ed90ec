"""Markdown building blocks of report.md: number formatting, tables, figure links.

Plain functions from numbers to markdown text; report.py and report_sections.py assemble
the sections from them.
"""

from __future__ import annotations

METRIC_LABELS = {
    "accuracy": "accuracy",
    "loss": "log loss",
    "precision_macro": "precision (macro)",
    "recall_macro": "recall (macro)",
    "f1_macro": "F1 (macro)",
    "precision_weighted": "precision (weighted)",
    "recall_weighted": "recall (weighted)",
    "f1_weighted": "F1 (weighted)",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "ece": "expected calibration error",
}


SHORT_LABELS = {**METRIC_LABELS, "pr_auc": "PR-AUC", "ece": "ECE"}


def fmt(value, digits: int = 4) -> str:
    """A number for a table: fixed digits, integers as is, None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        small = value != 0 and abs(value) < 10**-digits
        return f"{value:.2e}" if small else f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table; cells are formatted with ``fmt``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def figure(path: str | None, caption: str) -> str:
    """A markdown image with a relative link (empty when the figure was not drawn)."""
    return f"![{caption}]({path})\n\n*{caption}*" if path else ""


def join(*blocks: str) -> str:
    """Non-empty markdown blocks separated by blank lines."""
    return "\n\n".join(block for block in blocks if block)
