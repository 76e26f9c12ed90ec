"""The compression report: Markdown table, size-vs-accuracy plot, atomic JSON."""

import json

from PIL import Image

from bigmodel_tf.compression.report import markdown, write_reports


def metrics(accuracy: float) -> dict:
    """The few test metrics the report reads."""
    return {"accuracy": accuracy, "f1_macro": accuracy - 0.001}


def variant(size: int, gzip_size: int, accuracy: float) -> dict:
    """A measured variant entry as compress writes it."""
    return {"bytes": size, "gzip_bytes": gzip_size, "test": metrics(accuracy),
            "latency_ms": 0.05, "throughput_examples_per_sec": 20_000.0,
            "parity": {"top1_match": 0.99, "max_abs_diff": 0.02}}


REPORT = {
    "run_dir": "runs/x", "model": "cnn", "data": "digits",
    "reference": {"file": "float32.weights.h5", "bytes": 340_000, "gzip_bytes": 280_000,
                  "model_keras_bytes": 970_000, "test": metrics(0.99)},
    "pruning": {"sparsity": {"conv_1/kernel": {"size": 73_728, "target": 0.8,
                                               "achieved": 0.8}},
                "left_dense": {"position_embedding": "TF-MOT cannot prune it"}},
    "variants": {"base_int8": variant(85_000, 76_000, 0.989),
                 "pruned_int8": variant(85_000, 30_000, 0.985)},
}


def test_markdown_table_has_one_row_per_variant_and_the_ratios():
    """Reference row, one row per variant, × smaller against the weights file, Δ in points."""
    text = markdown(REPORT)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows[:3]] == ["keras_float32", "base_int8",
                                                       "pruned_int8"]
    assert "| 11.3× |" in rows[2] and "| -0.50 |" in rows[2]
    assert "`conv_1/kernel` | 73,728 | 0.8000 | 0.8000" in text
    assert "`position_embedding` (TF-MOT cannot prune it)" in text


def test_write_reports(tmp_path):
    """compression.json in both places, report.md and a PNG plot; no temporary files left."""
    (tmp_path / "tflite").mkdir()
    (tmp_path / "run").mkdir()
    write_reports(REPORT, tmp_path / "tflite", tmp_path / "run")
    assert json.loads((tmp_path / "tflite" / "compression.json").read_text()) == REPORT
    assert (tmp_path / "run" / "report.md").read_text().startswith("# Compression of runs/x")
    with Image.open(tmp_path / "run" / "size_vs_accuracy.png") as image:
        assert image.size[0] > 300
    assert sorted(p.name for p in tmp_path.rglob(".*")) == []
