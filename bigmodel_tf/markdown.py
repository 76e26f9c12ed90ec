"""Markdown building blocks of the reports: number formatting, tables, figure links.

Plain functions from numbers to markdown text; the evaluation stage's report and each
task's report sections are assembled from them.
"""

from __future__ import annotations


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
