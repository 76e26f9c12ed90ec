"""The model's structure: a layer graph PNG (keras.utils.plot_model) and a text summary.

``plot_model`` needs pydot and Graphviz's ``dot`` program (Debian package ``graphviz``;
CI installs it); without them only the text summary is written, and the reason is kept.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras

from bigmodel_tf.io import atomic_file, atomic_write

log = logging.getLogger("bigmodel_tf.evaluation")


def summary_text(model) -> str:
    """``model.summary()`` as plain text (layers, output shapes, parameter counts)."""
    parts: list[str] = []
    model.summary(print_fn=lambda text, *_, **__: parts.append(text), line_length=110)
    return "".join(parts).rstrip()


def model_structure(model, plots_dir: Path, run_dir: Path) -> dict:
    """Write run_dir/model_summary.txt and, where Graphviz exists, plots/model.png."""
    text = summary_text(model)
    summary_path = run_dir / "model_summary.txt"
    atomic_write(summary_path, text + "\n")
    result = {"summary": summary_path.name, "image": None, "reason": None}
    target = plots_dir / "model.png"
    plots_dir.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_file(target) as tmp:
            keras.utils.plot_model(
                model, to_file=str(tmp), show_shapes=True, show_layer_names=True,
                show_layer_activations=True, dpi=80, rankdir="TB",
            )
        result["image"] = f"{plots_dir.name}/{target.name}"
    except (ImportError, OSError) as exc:  # no pydot or no Graphviz `dot` on this machine
        result["reason"] = str(exc).splitlines()[0]
        log.info("model graph not drawn (%s); wrote the text summary", result["reason"])
    return result
