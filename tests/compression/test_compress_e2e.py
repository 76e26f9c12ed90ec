"""End-to-end: the default digits CNN's run, then `bigmodel compress` with every option.

Checks the compression figures the README promises on a real run: pruned to 80 % and int8, the
TFLite file is at least 8x smaller gzipped than the float32 Keras weights file
(float32.weights.h5, no optimizer state) with test accuracy within 1 point; int8 without
pruning within 1 point; every variant loads and runs in LiteRT. Marked slow (CI runs it).
"""

import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.compression import litert_eval
from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.manifest import verify_folder
from tests.compression.conftest import compress_run

pytestmark = pytest.mark.slow
QUANTIZATIONS = ("float32", "dynamic_range", "float16", "int8")


@pytest.fixture(scope="module")
def cnn(tmp_path_factory, default_run):
    """The default experiment (a copy of the session's run of `python scripts/train.py`,
    tests/conftest.py), compressed with pruning, QAT, PQAT and the pruned export."""
    root = tmp_path_factory.mktemp("cnn")
    run_dir = shutil.copytree(default_run.run_dir, root / "run", symlinks=True)
    report = compress_run(root, ["compression.qat=true", "compression.pqat=true",
                                 "compression.export_pruned=true",
                                 "compression.latency_runs=50"])
    return root, run_dir, report


def points(entry: dict, report: dict) -> float:
    """Test accuracy difference to the float32 Keras model, in points."""
    return 100 * (entry["test"]["accuracy"] - report["reference"]["test"]["accuracy"])


def test_pruned_int8_is_small_sparse_and_accurate(cnn):
    """80 % sparsity + int8: >= 8x smaller gzipped than the weights file, within 1 point."""
    _, _, report = cnn
    entry, reference = report["variants"]["pruned_int8"], report["reference"]
    ratio = reference["bytes"] / entry["gzip_bytes"]
    print(f"pruned_int8: {entry['gzip_bytes']} gzip bytes vs {reference['bytes']} bytes of "
          f"{reference['file']} = {ratio:.1f}x smaller; accuracy "
          f"{entry['test']['accuracy']:.4f} vs {reference['test']['accuracy']:.4f}")
    assert reference["file"] == "float32.weights.h5"
    assert all(w["target"] == 0.8 for w in report["pruning"]["sparsity"].values())
    assert ratio >= 8
    assert abs(points(entry, report)) <= 1
    assert entry["times_smaller_gzip_vs_weights"] == pytest.approx(ratio)


def test_int8_without_pruning_within_one_point(cnn):
    """Full-integer post-training quantization of the trained model keeps its accuracy."""
    _, _, report = cnn
    assert report["reference"]["test"]["accuracy"] >= 0.97
    assert abs(points(report["variants"]["base_int8"], report)) <= 1
    assert abs(points(report["variants"]["qat_int8"], report)) <= 1


def test_every_variant_loads_and_runs_in_litert(cnn):
    """Each .tflite file runs in LiteRT on the test split and gives the reported accuracy."""
    root, run_dir, report = cnn
    expected = {f"{s}_{q}" for s in ("base", "pruned") for q in QUANTIZATIONS}
    assert set(report["variants"]) == expected | {"qat_int8", "pqat_int8"}
    tflite_dir = root / "saved_models" / "digits_cnn-tflite" / "1"
    assert {p.stem for p in tflite_dir.glob("*.tflite")} == set(report["variants"])
    test = load_splits(load_config(run_dir / "config.yaml")).test
    for name, entry in report["variants"].items():
        runner = litert_eval.interpreter(tflite_dir / entry["file"], 64, 1)
        probs = litert_eval.predict(runner, test.x)
        accuracy = float(np.mean(probs.argmax(axis=1) == test.y))
        assert accuracy == pytest.approx(entry["test"]["accuracy"]), name
        assert entry["parity"]["top1_match"] >= 0.97, (name, entry["parity"])
        assert entry["latency_ms"] > 0 and entry["throughput_examples_per_sec"] > 0
    for source in ("base", "pruned"):
        assert report["variants"][f"{source}_float32"]["parity"]["max_abs_diff"] < 1e-4


def test_sparsity_is_reported_and_preserved(cnn):
    """Every pruned kernel is at 80 %, in the pruned Keras 3 model too, and PQAT keeps it."""
    _, run_dir, report = cnn
    sparsity = report["pruning"]["sparsity"]
    assert set(sparsity) == {"conv_0/kernel", "conv_1/kernel", "logits/kernel"}
    for name, entry in sparsity.items():
        assert abs(entry["achieved"] - 0.8) <= 1.0 / entry["size"], name
        assert report["pqat"]["sparsity"][name] >= entry["achieved"] - 1.0 / entry["size"]
    pruned = keras.models.load_model(run_dir / "compression" / "pruned.keras", safe_mode=True)
    kernel = pruned.get_layer("conv_1").kernel.numpy()
    assert np.mean(kernel == 0) == pytest.approx(sparsity["conv_1/kernel"]["achieved"])


def test_reports_and_exports(cnn):
    """JSON and manifest next to the .tflite files, table, plot, TensorBoard, pruned export."""
    root, run_dir, report = cnn
    tflite_json = root / "saved_models" / "digits_cnn-tflite" / "1" / "compression.json"
    assert report["tflite_dir"] == str(tflite_json.parent)  # the run's copy says where
    assert json.loads(tflite_json.read_text()) == {k: v for k, v in report.items()
                                                   if k != "tflite_dir"}
    folder = run_dir / "compression"
    table = (folder / "report.md").read_text()
    assert all(f"`{name}`" in table for name in report["variants"])
    assert (folder / "size_vs_accuracy.png").stat().st_size > 10_000
    assert list((folder / "tensorboard").rglob("events.out.tfevents.*"))
    # Hidden entries: only the run's lock and the version folders the links point at.
    entries = [*run_dir.iterdir(), *tflite_json.parents[1].iterdir()]
    targets = {p.resolve() for p in entries if p.is_symlink()}
    assert [p.name for p in entries if p.name.startswith(".") and p.resolve() not in targets
            ] == [".bigmodel.lock"]
    verify_folder(tflite_json.parent)  # manifest.json lists every file with its sha256
    served = tf.saved_model.load(str(root / "saved_models" / "digits_cnn_pruned" / "1"))
    outputs = served.signatures["serving_default"](image=tf.zeros([2, 8, 8, 1]))
    assert outputs["probabilities"].shape == (2, 10)
