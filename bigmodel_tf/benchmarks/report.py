"""The benchmark report as Markdown: the performance targets first, then one table per suite.

Reads the result dict ``runner.run_benchmarks`` builds (the same content as
benchmark.json) and returns Markdown text; every number comes from that dict.
"""

from __future__ import annotations


def _table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _targets(checks: dict) -> list[str]:
    """The performance targets: measured value and verdict (nothing when no such suite ran)."""
    if not checks:
        return []
    rows = [[name, check["value"], check["target"], "yes" if check["met"] else "**no**"]
            for name, check in checks.items()]
    return ["## Targets", "", *_table(["figure", "measured", "target", "met"], rows)]


def _input(r: dict) -> list[str]:
    """Examples per second of the three readers."""
    rows = [[name, f"{v['best_per_sec']:,.0f}", f"{v['median_per_sec']:,.0f}"]
            for name, v in r["examples_per_sec"].items()]
    ratios = [[name, value] for name, value in r["ratios"].items()]
    return [f"## Input ({r['examples_per_pass']} train examples per pass, batch "
            f"{r['batch_size']}, {r['shards']} GZIP shards of {r['encoding']} records)", "",
            *_table(["reader", "examples/s (best)", "examples/s (median)"], rows),
            *_table(["ratio", "value"], ratios)]


def _input_bound(r: dict) -> list[str]:
    """Step time with the pipeline and with in-memory tensors, per TFRecord folder."""
    rows = [[row["data"], row["encoding"], row["steps_per_epoch"], row["batch_size"],
             row["step_ms"]["pipeline"], row["step_ms"]["in_memory"], row["ratio"]]
            for row in r["rows"]]
    return ["## Input-bound check (TFRecord folders; step ms: best epoch / steps)", "",
            *_table(["data", "encoding", "steps/epoch", "batch", "step ms, pipeline",
                     "step ms, in memory", "ratio"], rows)]


def _overhead(r: dict) -> list[str]:
    """Epoch time of bare fit and of fit with bigmodel's callbacks, and each callback's."""
    rows = [[name, s] for name, s in r["best_epoch_seconds"].items()]
    rows += [[f"inside {name}", s] for name, s in r["callback_seconds_per_epoch"].items()]
    rows += [["overhead: time inside the callbacks / bare epoch", f"{100 * r['overhead']:.2f} %"],
             ["overhead: median epoch times, end to end (load-sensitive)",
              f"{100 * r['overhead_end_to_end']:.2f} %"]]
    return [f"## Overhead ({r['steps_per_epoch']} steps/epoch, validation included)", "",
            *_table(["fit", "seconds per epoch"], rows)]


def _precision(r: dict) -> list[str]:
    """Throughput per precision and compiler setting."""
    rows = [[name, f"{rate:,.0f}", r["ratio_to_float32"][name]]
            for name, rate in r["examples_per_sec"].items()]
    return [f"## Precision and compiler (batch {r['batch_size']})", "",
            *_table(["setting", "train examples/s", "x float32"], rows)]


def _scaling(r: dict) -> list[str]:
    """Throughput per number of logical devices."""
    rows = [[row["devices"], row["replicas"], row["global_batch"],
             f"{row['examples_per_sec']:,.0f}", row["speedup"], row["efficiency"]]
            for row in r["rows"]]
    return [f"## Scaling (logical CPU devices on {r['physical_cores']} physical cores; "
            f"{r['per_replica_batch']} per replica)", "",
            *_table(["devices", "replicas", "global batch", "examples/s", "speed-up",
                     "efficiency"], rows)]


def _utilization(r: dict) -> list[str]:
    """Model FLOP/s against matmul FLOP/s."""
    rows = [[p, r[p]["train_gflops_per_sec"], r[p]["matmul_gflops_per_sec"],
             f"{100 * r[p]['utilization']:.1f} %"] for p in ("float32", "mixed_bfloat16")]
    return [f"## Utilization ({r['train_flops_per_example']:,} training FLOPs per example = "
            f"3 x forward; matmul {r['matmul_size']}x{r['matmul_size']})", "",
            *_table(["precision", "model GFLOP/s", "matmul GFLOP/s", "utilization"], rows)]


def _tflite(r: dict) -> list[str]:
    """Latency and throughput per TFLite variant, or why there are none."""
    if r["status"] != "measured":
        return ["## TFLite", "", f"Not measured: {r['reason']}.", ""]
    then = {name: v["latency_ms_when_compressed"] for name, v in r["variants"].items()}
    rows = [[name, v["bytes"], v["latency_ms"],
             "" if then[name] is None else round(then[name], 4),
             f"{v['throughput_examples_per_sec']:,.0f}", v["test_accuracy"]]
            for name, v in r["variants"].items()]
    return [f"## TFLite ({r['tflite_dir']}, {r['threads']} thread(s))", "",
            *_table(["variant", "bytes", "latency ms", "latency ms at compress time",
                     "examples/s", "test accuracy"], rows)]


def _tabular_defaults(r: dict) -> list[str]:
    """Test accuracy and log loss of the default network and the best baseline per data set."""
    def cell(summary: dict) -> str:
        return f"{summary['mean']:.3f} ± {summary['sd']:.3f}"

    rows = [[row["data"], row["train_examples"], cell(row["network"]["accuracy"]),
             f"{cell(row['best_baseline']['accuracy'])} ({row['best_baseline']['name']})",
             cell(row["network"]["loss"]), cell(row["best_baseline"]["loss"])]
            for row in r["rows"]]
    return [f"## Tabular defaults (test split; mean ± sd over seeds {r['seeds']})", "",
            *_table(["data", "train rows", "network accuracy", "best baseline accuracy",
                     "network log loss", "baseline log loss"], rows)]


def _memory(r: dict) -> list[str]:
    """Peak RSS of one training epoch and size on disk per scale, TFRecords and PNG files."""
    def pair(values: dict, fmt: str = "{:,.0f}") -> list[str]:
        return [fmt.format(values[name]) for name in ("tfrecord", "image_dir")]

    rows = [[f"{row['scale']}x", f"{row['examples']:,}", *pair(row["disk_mib"], "{:,.1f}"),
             *pair(row["peak_rss_mib"]), " / ".join(pair(row["train_seconds"]))]
            for row in r["rows"]]
    rows.append([r["compared"], "", "", "", *pair(r["ratio"], "{:.3f}"), ""])
    shape = "×".join(str(n) for n in r["image_shape"])
    return [f"## Memory (peak RSS of `bigmodel train`, one epoch of {r['model']}, batch "
            f"{r['batch_size']}, data.cache=none, data.shuffle_buffer={r['shuffle_buffer']}; "
            f"generated {shape} PNG images)", "",
            *_table(["data", "images", "TFRecords MiB on disk", "PNG folder MiB on disk",
                     "peak RSS MiB, TFRecords", "peak RSS MiB, PNG folder",
                     "seconds, TFRecords / PNG folder"], rows)]


def _image_folder(r: dict) -> list[str]:
    """Examples per second of the project's image_dir pipeline and of Keras' reader."""
    rows = [[name, r["examples_per_pass"][name], f"{v['best_per_sec']:,.0f}",
             f"{v['median_per_sec']:,.0f}"] for name, v in r["examples_per_sec"].items()]
    rows.append(["ratio pipeline / keras", "", r["ratio"], ""])
    shape = "×".join(str(n) for n in r["image_shape"])
    return [f"## Image folder ({r['images']:,} generated {shape} PNG files, batch "
            f"{r['batch_size']}; load_splits {r['load_splits_seconds']} s)", "",
            *_table(["reader", "examples per pass", "examples/s (best)",
                     "examples/s (median)"], rows)]


SECTIONS = {"input": _input, "input_bound": _input_bound, "overhead": _overhead,
            "precision": _precision, "scaling": _scaling, "utilization": _utilization,
            "tflite": _tflite, "tabular_defaults": _tabular_defaults, "memory": _memory,
            "image_folder": _image_folder}


def markdown(result: dict) -> str:
    """The whole report."""
    machine = result["machine"]
    lines = [
        "# bigmodel benchmark", "",
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; TensorFlow "
        f"{machine['tensorflow']}, Keras {machine['keras']}. Load average (1/5/15 min) "
        f"before {result['load_average_before']}, after {result['load_average_after']}: "
        "other work on this CPU slows every figure; each is the best of "
        f"{result['repeats']} repeats. Reproduce: `{result['command']}`.", "",
        *_targets(result["targets"]),
    ]
    for name, suite in result["suites"].items():
        lines += SECTIONS[name](suite)
    return "\n".join(lines)
