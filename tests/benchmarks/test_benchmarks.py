"""`bigmodel benchmark`: the readers agree with each other, the suites run and report.

These check behaviour, never speed (the CPU is shared; timings belong in the report).
"""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.benchmarks import runner
from bigmodel_tf.benchmarks.images import image_dir_config
from bigmodel_tf.benchmarks.inputs import generator_dataset, plain_dataset, read_gzip_records
from bigmodel_tf.benchmarks.memory import peak_rss
from bigmodel_tf.benchmarks.runner import check_targets
from bigmodel_tf.cli import main
from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits, tfrecord_io


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Digits written as GZIP TFRecord shards."""
    out = tmp_path_factory.mktemp("bench") / "records"
    assert main(["data", "convert", "--out", str(out), "--set", "data.shards=3"]) == 0
    return out


def test_the_python_reader_reads_what_tf_data_reads(records):
    files = tfrecord_io.shard_files(records, "train")
    expected = [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]
    assert [r for f in files for r in read_gzip_records(f)] == expected


@pytest.mark.parametrize("data, encoding, shape", [
    ("digits", "png", (8, 8, 1)),  # whole numbers 0..16: stored as PNG
    ("diabetes", "float", (10,)),  # tabular, regression targets
])
def test_generator_and_plain_readers_yield_the_train_split_in_order(records, tmp_path, data,
                                                                    encoding, shape):
    if data != "digits":
        records = tmp_path / "records"
        assert main(["data", "convert", "--out", str(records), "--set", f"data.name={data}",
                     "data.shards=2"]) == 0
    files = tfrecord_io.shard_files(records, "train")
    fmt = tfrecord_io.RecordFormat.of(tfrecord_io.read_meta(records))
    assert (fmt.encoding, fmt.input_shape) == (encoding, shape)
    train = load_splits(load_config(overrides=[f"data.name={data}"])).train
    for dataset in (generator_dataset(files, fmt, 100), plain_dataset(files, fmt, 100)):
        x = np.concatenate([b[0].numpy() for b in dataset])
        y = np.concatenate([b[1].numpy() for b in dataset])
        np.testing.assert_array_equal(x, train.x)
        np.testing.assert_array_equal(y, train.y)


def test_targets_are_checked_only_for_the_suites_that_ran():
    checks = check_targets({"input": {"ratios": {"pipeline_vs_generator": 6.0}},
                        "overhead": {"overhead": 0.08}})
    assert [c["met"] for c in checks.values()] == [True, False]
    assert [c["target"] for c in checks.values()] == ["≥ 5", "≤ 0.05"]


@pytest.mark.slow
def test_every_suite_runs_and_writes_json_and_markdown(tmp_path, capsys):
    run_dir = tmp_path / "bench"
    assert main(["benchmark", "--run-dir", str(run_dir), "--set", "model.name=mlp",
                 "benchmark.epochs=2", "benchmark.repeats=1", "benchmark.input_passes=2",
                 "benchmark.devices=[1,2]", "benchmark.matmul_size=128",
                 "benchmark.image_folder_examples=200",
                 f"export.dir={tmp_path / 'saved_models'}"]) == 0
    result = json.loads((run_dir / "benchmark.json").read_text())
    assert set(result["suites"]) == {"input", "input_bound", "overhead", "precision",
                                     "scaling", "utilization", "tflite"}
    suites = result["suites"]
    assert set(suites["input"]["examples_per_sec"]) == {
        "generator", "plain_tf_data", "pipeline", "pipeline_cold_first_pass"}
    assert suites["input"]["examples_per_pass"] == len(load_splits(load_config()).train.y)
    assert [row["data"] for row in suites["input_bound"]["rows"]] == [
        "digits", "generated PNG images"]
    assert suites["input_bound"]["ratio"] == max(r["ratio"] for r in suites["input_bound"]["rows"])
    assert suites["input_bound"]["ratio"] > 0 and suites["overhead"]["steps_per_epoch"] > 0
    assert "RunBackup" in suites["overhead"]["callback_seconds_per_epoch"]
    assert set(suites["precision"]["examples_per_sec"]) == {
        "float32", "mixed_bfloat16", "float32+xla", "mixed_bfloat16+xla"}
    assert [row["replicas"] for row in suites["scaling"]["rows"]] == [1, 2]
    assert suites["utilization"]["train_flops_per_example"] > 0
    assert suites["utilization"]["float32"]["utilization"] > 0
    assert suites["tflite"]["status"] == "skipped"  # nothing compressed into export.dir
    assert len(result["targets"]) == 3 and result["load_average_after"]
    markdown = (run_dir / "benchmark.md").read_text()
    for heading in ("## Targets", "## Input", "## Input-bound check", "## Overhead",
                    "## Precision and compiler", "## Scaling", "## Utilization", "## TFLite"):
        assert heading in markdown, heading
    assert "written:" in capsys.readouterr().out


def test_a_folder_not_made_by_benchmark_is_refused_before_any_suite(tmp_path, capsys,
                                                                    monkeypatch):
    def no_suites(cfg, run_dir):
        raise AssertionError("a suite ran before the folder was refused")

    monkeypatch.setattr(runner, "_run_suites", no_suites)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "benchmark.md").write_text("mine")
    assert main(["benchmark", "--run-dir", str(mine)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"bigmodel: error: {mine}: exists and was not made by bigmodel benchmark; choose a "
        "new or empty folder")
    assert [p.name for p in mine.iterdir()] == ["benchmark.md"]
    assert (mine / "benchmark.md").read_text() == "mine"


def test_peak_rss_is_the_childs_own_not_the_parents(tmp_path):
    ballast = b"1" * (500 << 20)  # this process holds 500 MiB more than the child ever does
    measured = peak_rss(["--help"], tmp_path / "help.log")
    assert 0 < measured["peak_rss_mib"] < 300 and len(ballast)
    assert "usage: bigmodel" in (tmp_path / "help.log").read_text()
    with pytest.raises(RuntimeError, match="bigmodel nosuch: failed \\(exit 2\\)"):
        peak_rss(["nosuch"], tmp_path / "failed.log")


def _positive(values: dict) -> bool:
    """Every value is a finite positive number."""
    return all(math.isfinite(v) and v > 0 for v in values.values())


def test_memory_and_image_folder_suites_measure_generated_images(tmp_path):
    run_dir = tmp_path / "bench"
    assert main(["benchmark", "--run-dir", str(run_dir), "--set",
                 "benchmark.suites=[memory,image_folder]", "benchmark.memory_examples=150",
                 "benchmark.memory_scales=[1]", "benchmark.image_folder_examples=200",
                 "benchmark.repeats=1"]) == 0
    result = json.loads((run_dir / "benchmark.json").read_text())
    memory, images = result["suites"]["memory"], result["suites"]["image_folder"]
    [row] = memory["rows"]
    assert (row["scale"], row["examples"], memory["image_shape"]) == (1, 150, [32, 32, 3])
    for key in ("disk_mib", "peak_rss_mib", "train_seconds"):
        assert set(row[key]) == {"tfrecord", "image_dir"} and _positive(row[key]), key
    assert memory["ratio"] == {"tfrecord": 1.0, "image_dir": 1.0}  # one scale: 1x / 1x
    records = run_dir / "memory" / "records-1x"
    assert memory["shuffle_buffer"] == tfrecord_io.read_meta(records)["split_sizes"]["train"]
    pngs = sorted((run_dir / "memory" / "images-1x").glob("*/*.png"))
    assert len(pngs) == 150 and len({p.parent.name for p in pngs}) == 10
    folder = run_dir / "image_folder"
    train = load_splits(image_dir_config(load_config(), folder)).train
    assert images["examples_per_pass"] == {"pipeline": len(train.y), "keras": 200}
    assert _positive({name: v["best_per_sec"] for name, v in images["examples_per_sec"].items()})
    assert images["ratio"] > 0 and images["load_splits_seconds"] >= 0
    assert [check["target"] for check in result["targets"].values()] == ["≤ 1.15", "≤ 1.15",
                                                                         "≥ 1"]
    markdown = (run_dir / "benchmark.md").read_text()
    assert "## Memory" in markdown and "## Image folder" in markdown
