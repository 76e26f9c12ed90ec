"""The compression report: compression.json, a Markdown table and a size-vs-accuracy plot.

Reads the report dict that ``compress`` assembles (reference Keras model, pruning and
QAT summaries, one entry per TFLite variant); writes ``compression.json`` (next to the
.tflite files), ``report.md`` and ``size_vs_accuracy.png`` (in the run's compression/
folder). Sizes are compared with the float32 Keras weights file (``.weights.h5``, no
optimizer state), the honest baseline for what a device has to store.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bigmodel_tf.io import write_json  # noqa: E402
from bigmodel_tf.tasks import get_task  # noqa: E402

KIB = 1024.0


def _task(report: dict):
    """The task of the compressed run (reports written before tasks: classification)."""
    return get_task(report.get("task", "classification"))


def _delta(task, value: float, reference: float) -> float:
    """The change of the headline metric: in points (accuracy), else in % of the reference."""
    if task.direction == "max":
        return 100.0 * (value - reference)
    return 100.0 * (value - reference) / reference if reference else 0.0


def _row(name: str, entry: dict, baseline: dict, task) -> str:
    """One Markdown table row of a variant (or of the Keras reference)."""
    test, base_test = entry["test"], baseline["test"]
    headline, second = task.summary_keys[:2]
    delta = _delta(task, test[headline], base_test[headline])
    ratio = baseline["bytes"] / entry["gzip_bytes"]
    cells = [
        f"`{name}`",
        f"{entry['bytes'] / KIB:.1f}",
        f"{entry['gzip_bytes'] / KIB:.1f}",
        f"{ratio:.1f}×",
        f"{test[headline]:.4f}",
        f"{delta:+.2f}",
        f"{test[second]:.4f}",
    ]
    if "latency_ms" in entry:
        parity = entry["parity"]
        cells += [
            f"{entry['latency_ms']:.3f}",
            f"{entry['throughput_examples_per_sec']:,.0f}",
            f"{parity[task.parity_key]:.4f}",
            f"{parity['max_abs_diff']:.2g}",
        ]
    else:
        cells += ["–"] * 4
    return "| " + " | ".join(cells) + " |"


def markdown(report: dict) -> str:
    """The variants as a Markdown table, with the pruning summary below it."""
    baseline, task = report["reference"], _task(report)
    headline, second = task.summary_keys[:2]
    unit = "points" if task.direction == "max" else "%"
    lines = [
        f"# Compression of {report['run_dir']}",
        "",
        f"Reference: the float32 Keras model, weights file `{baseline['file']}` "
        f"({baseline['bytes'] / KIB:.1f} KiB; model.keras with optimizer state: "
        f"{baseline['model_keras_bytes'] / KIB:.1f} KiB). \"× smaller\" = weights file bytes "
        "/ gzipped file bytes; Δ against the reference; latency = median "
        "single-example invoke; parity against the Keras model each variant was converted "
        "from.",
        "",
        f"| variant | size KiB | gzip KiB | × smaller | test {headline} | Δ {headline} "
        f"({unit}) | {second} | latency ms | examples/s | {task.parity_key} | max abs diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row("keras_float32", baseline, baseline, task),
    ]
    lines += [_row(name, entry, baseline, task) for name, entry in report["variants"].items()]
    pruning = report.get("pruning")
    if pruning:
        lines += ["", "## Pruning", "", "| weight | size | target | achieved |",
                  "|---|---:|---:|---:|"]
        lines += [f"| `{name}` | {w['size']:,} | {w['target']:.4f} | {w['achieved']:.4f} |"
                  for name, w in pruning["sparsity"].items()]
        if pruning["left_dense"]:
            lines += ["", "Left dense: " + "; ".join(
                f"`{name}` ({why})" for name, why in pruning["left_dense"].items())]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    """The test headline metric (accuracy, RMSE) against gzipped size (log scale), one
    labelled point per variant.

    Variants at about the same place (same score, sizes within 10 %, e.g. dynamic
    range and int8 of one model) share one label, so labels do not overlap.
    """
    headline = _task(report).headline
    points = sorted(
        ((entry["test"][headline], entry["gzip_bytes"] / KIB, name)
         for name, entry in {"keras_float32": report["reference"], **report["variants"]}.items())
    )
    groups: list[tuple[float, float, list[str]]] = []
    for accuracy, size, name in points:
        if groups and groups[-1][0] == accuracy and size < groups[-1][1] * 1.1:
            groups[-1][2].append(name)
        else:
            groups.append((accuracy, size, [name]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for accuracy, size, names in groups:
        ax.scatter(size, accuracy, marker="s" if "keras_float32" in names else "o")
        ax.annotate("\n".join(names), (size, accuracy), textcoords="offset points",
                    xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("gzipped size (KiB, log scale)")
    ax.set_ylabel(f"test {headline}")
    ax.set_title(f"Size vs {headline}: {report['model']} on {report['data']}")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_reports(report: dict, json_dir: Path, report_dir: Path) -> None:
    """compression.json into ``json_dir``; report.md and the plot into ``report_dir``."""
    write_json(json_dir / "compression.json", report)
    write_json(report_dir / "compression.json", report)
    (report_dir / "report.md").write_text(markdown(report), encoding="utf-8")
    plot(report, report_dir / "size_vs_accuracy.png")
