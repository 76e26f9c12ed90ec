"""Interpretation of a trained model: structure, feature importance, pixel attributions, attention.

``run_interpretation`` reads the model, its model and evaluation config sections, the
seed, the run's task and the test split and
writes PNGs into plots/ (plus model_summary.txt): the model graph (or its text summary),
permutation feature importance for tabular data (scored by the task's loss and headline),
integrated-gradients maps for images (of the predicted class, or of the regression
output), and attention maps for the transformer. It returns a plain dict for metrics.json
whose ``figures`` maps names to the PNG paths it wrote, relative to the run directory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bigmodel_tf.config import EvaluationConfig, ModelConfig
from bigmodel_tf.evaluation.interpret import attention, gradients, permutation
from bigmodel_tf.evaluation.interpret.structure import model_structure
from bigmodel_tf.plots import save_figure

MAX_ATTENTION_FIGURES = 3  # image examples shown with per-head attention maps


def _classes(y: np.ndarray) -> bool:
    """Whether labels are class ids (integers) rather than numeric targets."""
    return np.issubdtype(np.asarray(y).dtype, np.integer)


def _label_text(spec, value) -> str:
    """A label as a person reads it: the class name, or the number."""
    return spec.class_names[int(value)] if _classes(value) else f"{float(value):.3g}"


def _tabular(model, e: EvaluationConfig, seed: int, task, splits, plots: Path) -> dict:
    """Permutation importance on (at most ``e.permutation_max_examples`` of) the test split,
    seeded by ``seed``."""
    x, y = splits.test.head(e.permutation_max_examples)
    names = splits.spec.feature_names or [f"feature {i}" for i in range(x.shape[1])]
    result = permutation.permutation_importance(model, x, y, names, task,
                                                e.permutation_repeats, seed)
    save_figure(permutation.importance_figure(result, "test"), plots / "permutation_importance.png")
    top = permutation.ranking(result)[:5]
    return {"permutation_importance": {**result, "top_features": [names[i] for i in top]},
            "figures": {"permutation_importance": f"{plots.name}/permutation_importance.png"}}


def _images(model, ig_steps: int, splits, test_head, plots: Path, picked: np.ndarray) -> dict:
    """Integrated-gradients maps (``ig_steps`` steps) of the picked images of ``test_head``
    (the first test examples, (x, y)) for their predicted classes (or the regression
    output)."""
    spec, (x, y) = splits.spec, test_head
    images = x[picked]
    probs = model.predict(images, verbose=0).reshape(len(picked), -1)
    classes = _classes(y)
    targets = probs.argmax(axis=1) if classes else np.zeros(len(picked), dtype=np.int64)
    baseline = spec.value_range[0] if spec.value_range else 0.0
    maps = gradients.integrated_gradients(model, images, targets, baseline, ig_steps)
    titles = [f"true {_label_text(spec, t)} / pred {spec.class_names[p]}\np={probs[i, p]:.2f}"
              if classes else f"true {_label_text(spec, t)} / pred {probs[i, 0]:.3g}"
              for i, (t, p) in enumerate(zip(y[picked], targets, strict=True))]
    save_figure(gradients.attribution_figure(images, maps, titles, spec.value_range),
                plots / "integrated_gradients.png")
    baseline_probs = model.predict(np.full_like(images, baseline), verbose=0).reshape(
        len(picked), -1)
    gain = probs[np.arange(len(targets)), targets] - baseline_probs[np.arange(len(targets)),
                                                                     targets]
    completeness = np.abs(maps.reshape(len(maps), -1).sum(axis=1) - gain)
    return {"integrated_gradients": {
        "examples": picked.tolist(), "steps": ig_steps, "baseline": baseline,
        "max_completeness_error": float(completeness.max()),
    }, "figures": {"integrated_gradients": f"{plots.name}/integrated_gradients.png"}}


def _attention(model, m: ModelConfig, splits, test_head, plots: Path,
               picked: np.ndarray) -> dict:
    """Attention maps of the transformer ``m``: per image example, or between feature tokens
    (over the examples of ``test_head``, the first test examples (x, y))."""
    spec, (x, y) = splits.spec, test_head
    if spec.kind == "tabular":
        scores = attention.attention_scores(model, m, spec, x)
        save_figure(attention.feature_attention_figure(scores, spec.feature_names or [
            f"feature {i}" for i in range(x.shape[1])]), plots / "attention_features.png")
        return {"attention": {"layers": len(scores)},
                "figures": {"attention_features": f"{plots.name}/attention_features.png"}}
    shown = picked[:MAX_ATTENTION_FIGURES]
    scores = attention.attention_scores(model, m, spec, x[shown])
    figures = {}
    for i, index in enumerate(shown):
        title = f"test example {index} (true {_label_text(spec, y[index])})"
        fig = attention.image_attention_figure(
            x[index], [s[i] for s in scores], m.patch_size, title, spec.value_range
        )
        save_figure(fig, plots / f"attention_example_{i}.png")
        figures[f"attention_example_{i}"] = f"{plots.name}/attention_example_{i}.png"
    return {"attention": {"layers": len(scores), "examples": shown.tolist()}, "figures": figures}


def run_interpretation(model, m: ModelConfig, e: EvaluationConfig, seed: int, task, splits,
                       run_dir: Path, plots: Path) -> dict:
    """Every interpretation that applies to this model (built from ``m``) and data, as ``e``
    configures it (see the module docstring)."""
    structure = model_structure(model, plots, run_dir)
    parts = [{"structure": structure,
              "figures": {"model": structure["image"]} if structure["image"] else {}}]
    # the examples shown and explained: picked among the first test examples (a stream
    # is not read further than that)
    test_head = splits.test.head(e.permutation_max_examples)
    count, y = e.interpret_examples, test_head[1]
    picked = (gradients.pick_examples(y, count) if _classes(y)
              else np.arange(min(count, len(y))))
    if splits.spec.kind == "tabular":
        parts.append(_tabular(model, e, seed, task, splits, plots))
    else:
        parts.append(_images(model, e.ig_steps, splits, test_head, plots, picked))
    if m.name == "transformer" and m.depth > 0:
        parts.append(_attention(model, m, splits, test_head, plots, picked))
    figures = {name: path for part in parts for name, path in part.pop("figures").items()}
    return {key: value for part in parts for key, value in part.items()} | {"figures": figures}
