"""The compress stage: ``compress(cfg, run) -> CompressResult``.

Reads a finished run through ``finished_run.RunDir`` (model.keras, data_spec.json, the
config's data, checked unchanged since training) and
``cfg.compression``; writes

    <export.dir>/<export.name>-tflite/<N>/  <variant>.tflite, compression.json,
                                            manifest.json (a new N per run, layout.py)
    <run_dir>/compression/  report.md, size_vs_accuracy.png, compression.json,
                            float32.weights.h5 (the size baseline), pruned.keras,
                            tensorboard/ (pruning summaries)

The TFLite version is written under a hidden ``.tmp-*`` name and renamed to the next free
N at the end; earlier versions are never touched. ``compression/`` holds the latest
report: a link to a hidden version folder (bigmodel_tf/io.py) built anew and swapped in by
one atomic rename, so a failure or a kill leaves the previous report untouched; a folder
there that bigmodel compress did not publish, or a file a user added to it, is refused
before any work (it is replaced whole).
Variants are ``<source>_<quant>``: sources ``base`` (the trained model, as a float32
copy), ``pruned`` (TF-MOT pruning, weights copied back into Keras 3), ``qat`` and
``pqat`` (TF-MOT quantization-aware training, int8 only); quantizations float32,
dynamic_range, float16, int8.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tf_keras

from bigmodel_tf import remote_run
from bigmodel_tf.compression import litert_eval
from bigmodel_tf.compression.bridge import float32_copy, to_tf_keras
from bigmodel_tf.compression.finetune import FinetuneInputs
from bigmodel_tf.compression.layout import tflite_base
from bigmodel_tf.compression.pruning import prune, weight_sparsity
from bigmodel_tf.compression.qat import quantize_aware
from bigmodel_tf.compression.report import write_reports
from bigmodel_tf.compression.tflite_convert import (
    convert,
    representative_examples,
    write_saved_model,
)
from bigmodel_tf.config import (
    CompressionConfig,
    ExperimentConfig,
    ModelConfig,
    config_hash,
    export_name,
    to_dict,
)
from bigmodel_tf.data import ArraySplit, load_splits, with_run_cache
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.export import export_serving_model
from bigmodel_tf.finished_run import RunDir
from bigmodel_tf.io import (
    check_replaceable,
    publish_dir,
    publish_version,
    staging_dir,
    staging_folder,
    write_json,
)
from bigmodel_tf.manifest import write_manifest
from bigmodel_tf.tasks import get_task

log = logging.getLogger("bigmodel_tf.compression")
PROBE_EXAMPLES = 32  # test examples on which every model copy must agree with its source
QUANTIZATION_AWARE = ("qat", "pqat")  # sources that carry their own int8 ranges
KIND = "compress"  # the owner of the published folders (bigmodel_tf/io.py)


@dataclass
class CompressResult:
    """Where the compression results went (``tflite_dir``: this run's TFLite version), and
    the report written to compression.json."""

    report: dict
    tflite_dir: Path | str  # a URL for an export.dir URL
    report_dir: Path
    pruned_export: Path | str | None = None


def _outputs(model, x: np.ndarray) -> np.ndarray:
    """Float32 outputs (probabilities or predictions) of a Keras 3 or tf_keras model."""
    return np.asarray(model.predict(x, batch_size=256, verbose=0), dtype=np.float32)


def _reference(base: keras.Model, run_dir: Path, report_dir: Path, x, y, spec) -> dict:
    """The float32 Keras model's size baseline (weights file) and test metrics."""
    weights = report_dir / "float32.weights.h5"
    base.save_weights(str(weights))
    return {
        "file": weights.name,
        **litert_eval.file_sizes(weights),
        "model_keras_bytes": (run_dir / "model.keras").stat().st_size,
        "test": litert_eval.test_metrics(y, _outputs(base, x), spec),
    }


def _compress_models(
    c: CompressionConfig, model_cfg: ModelConfig, inputs: FinetuneInputs, base, spec, probe,
    report_dir: Path, report: dict,
):
    """Prune / QAT / PQAT as ``c`` says; return {source: (model, quantizations)}."""
    sources = {"base": (base, list(c.variants))}
    if c.prune:
        legacy = to_tf_keras(base, model_cfg, spec, probe)
        result = prune(legacy, c, inputs, report_dir / "tensorboard")
        pruned = float32_copy(result.model, model_cfg, spec, probe)
        pruned.save(str(report_dir / "pruned.keras"))
        sources["pruned"] = (pruned, list(c.variants))
        report["pruning"] = {"schedule": result.schedule, "sparsity": result.sparsity,
                             "left_dense": result.left_dense, "history": result.history}
    if c.qat:
        qat = quantize_aware(to_tf_keras(base, model_cfg, spec, probe), c, inputs)
        sources["qat"] = (qat.model, ["int8"])
        report["qat"] = {"float_layers": qat.float_layers, "history": qat.history}
    if c.pqat:
        pqat = quantize_aware(result.model, c, inputs, preserve_sparsity=True)
        sources["pqat"] = (pqat.model, ["int8"])
        report["pqat"] = {"float_layers": pqat.float_layers, "history": pqat.history,
                          "sparsity": weight_sparsity(pqat.model, list(result.sparsity))}
    return sources


def _variants(
    c: CompressionConfig, inputs: FinetuneInputs, sources: dict, spec: DataSpec, test,
    out_dir: Path, report: dict,
) -> dict:
    """Convert every source to its quantizations, run each in LiteRT; {variant: entry}.

    Int8 variants of sources not trained quantization-aware are calibrated on examples of
    ``inputs``' train pipeline.
    """
    needs_int8 = any("int8" in quantizations for source, (_, quantizations) in sources.items()
                     if source not in QUANTIZATION_AWARE)
    examples = (representative_examples(inputs.read("train"), c.representative_examples)
                if needs_int8 else None)
    weights_bytes = report["reference"]["bytes"]
    task = get_task(spec.task)
    entries = {}
    with tempfile.TemporaryDirectory(prefix="bigmodel-compress-") as work:
        for source, (model, quantizations) in sources.items():
            saved = Path(work) / source
            write_saved_model(model, spec, saved)
            reference = _outputs(model, test.x)
            report.setdefault("keras_test", {})[source] = litert_eval.test_metrics(
                test.y, reference, spec)
            for quantization in quantizations:
                name = f"{source}_{quantization}"
                path = out_dir / f"{name}.tflite"
                layer_names = [layer.name for layer in model.layers]
                path.write_bytes(convert(saved, quantization, c, examples, layer_names,
                                         quantization_aware=source in QUANTIZATION_AWARE))
                entry = litert_eval.measure(path, test.x, test.y, reference, c, spec)
                entries[name] = {"file": path.name, "source": source,
                                 "quantization": quantization, **entry,
                                 "times_smaller_gzip_vs_weights": weights_bytes
                                 / entry["gzip_bytes"]}
                log.info("%s: %d bytes (gzip %d), test %s %.4f, %s %.4f", name,
                         entry["bytes"], entry["gzip_bytes"], task.headline,
                         entry["test"][task.headline], task.parity_key,
                         entry["parity"][task.parity_key])
                if not entry["parity"]["within_tolerance"]:
                    log.warning("%s disagrees with its Keras model on the test split (%s "
                                "%.4f; see parity in compression.json)", name,
                                task.parity_key, entry["parity"][task.parity_key])
    return entries


@contextlib.contextmanager
def _removed_unless_published(tmp: Path):
    """Delete the hidden folder ``tmp`` if the block fails before it is renamed away."""
    try:
        yield
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing left once it was published
        raise


def compress(cfg: ExperimentConfig, run: RunDir) -> CompressResult:
    """Prune, quantize and convert a checked finished run's model; measure every variant.

    Its accuracy figures are measured on the run's test split, so the run's data must be
    unchanged since training.
    """
    run.check_data_unchanged()
    run_dir = run.path
    tflite_versions = tflite_base(cfg.export.dir, export_name(cfg))
    report_dir = run_dir / "compression"
    check_replaceable(report_dir, KIND)
    cfg = with_run_cache(cfg, run_dir)  # the cache folder training used
    keras.utils.set_random_seed(cfg.seed)
    tf_keras.utils.set_random_seed(cfg.seed)
    spec, model = run.spec, run.load_verified_model(compile=False)
    splits = load_splits(cfg)
    run.check_data(cfg.data, splits.spec)
    # The TFLite checks score every test example in the interpreter: the split in memory.
    test = ArraySplit(*splits.test.load())
    probe = test.x[:PROBE_EXAMPLES]
    base = float32_copy(model, cfg.model, spec, probe)
    inputs = FinetuneInputs(splits, cfg.data, cfg.seed, cfg.train, cfg.task)

    tflite_tmp = staging_folder(tflite_versions)
    with _removed_unless_published(tflite_tmp), staging_dir(report_dir, KIND) as report_tmp:
        report = {
            "run_dir": remote_run.shown(run_dir), "model": cfg.model.name, "data": cfg.data.name,
            "task": spec.task, "mixed_precision": cfg.runtime.mixed_precision,
            "config": to_dict(cfg.compression),
            "reference": _reference(base, run_dir, report_tmp, test.x, test.y, spec),
        }
        sources = _compress_models(cfg.compression, cfg.model, inputs, base, spec, probe,
                                   report_tmp, report)
        report["variants"] = _variants(cfg.compression, inputs, sources, spec, test, tflite_tmp,
                                       report)
        write_reports(report, tflite_tmp, report_tmp)
        # sha256 of every .tflite file and compression.json
        write_manifest(tflite_tmp, config_hash(cfg))
        tflite_dir = publish_version(tflite_tmp, tflite_versions)
        report["tflite_dir"] = str(tflite_dir)  # the run's copy says where its files went
        write_json(report_tmp / "compression.json", report)
        publish_dir(report_tmp, report_dir)
    pruned_export = None
    if cfg.compression.export_pruned and "pruned" in sources:
        # the run's decision rule (export.threshold; tuned on the val split for the base model)
        decision = get_task(spec.task).serving_decision(cfg.export.threshold, cfg.evaluation,
                                                        run_dir, spec)
        pruned_export = export_serving_model(
            sources["pruned"][0], spec, cfg.export.dir, f"{export_name(cfg)}_pruned",
            test.x[: cfg.export.warmup_examples], config_hash(cfg), decision,
        )
    return CompressResult(report, tflite_dir, report_dir, pruned_export)
