"""Figure helpers shared by the tasks' and the stages' plots (matplotlib, Agg, no pyplot state).

Figures are built with ``matplotlib.figure.Figure`` directly, which renders with the Agg
backend and touches no global pyplot state, so plotting works headless, in threads and in
notebooks alike. ``save_figure`` writes a PNG atomically (temporary file, then rename).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from bigmodel_tf.io import atomic_file

DPI = 110
COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}


def new_figure(width: float = 6.4, height: float = 4.8) -> Figure:
    """An empty figure of ``width`` x ``height`` inches with a constrained layout."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG to ``path`` (atomically) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def short_label(name: str, limit: int = 18) -> str:
    """A class or feature name shortened to ``limit`` characters for tick labels."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def tick_font_size(count: int) -> float:
    """A font size that keeps ``count`` tick labels readable (smaller for many)."""
    return 9 if count <= 12 else 7 if count <= 30 else 5
