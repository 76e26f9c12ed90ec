"""ONNX export: a published TF Serving version converted with tf2onnx, checked in onnxruntime.

Reads a SavedModel version ``<export_dir>/<name>/<version>/`` (its ``serving_default``
signature, the graph TF Serving runs) and raw examples; writes, beside the TF Serving base
path and never inside it::

    <export_dir>/<name>-onnx/<version>/model.onnx   same inputs and outputs as the signature
                                       onnx.json    opset, versions, parity
                                       manifest.json

A bucket sync of ``<name>/`` ships no ONNX file, the published SavedModel version is never
touched (its manifest lists exactly its own files), and the version number says which
SavedModel each file was converted from. The conversion is tf2onnx's SavedModel route
(``tf_loader.from_saved_model``, ``tfonnx.process_tf_graph``, ``optimizer.optimize_graph``:
what ``python -m tf2onnx.convert --saved-model`` runs) at opset 17. Keras'
``model.export(format="onnx")`` is not used: it turns the Normalization statistics into
extra graph inputs.

Parity runs the examples through the SavedModel signature and the ONNX model in
onnxruntime and compares every output: an integer output (``class_id``) by its match rate,
a float output by its largest and root-mean-square difference (the latter bounds the
change of a regression's RMSE). The folder is written under a hidden ``.tmp-*`` name and
renamed into place, so it appears complete or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from importlib import metadata
from pathlib import Path

import numpy as np
import tensorflow as tf

from bigmodel_tf import remote
from bigmodel_tf.errors import ExportError, RunDirError, require_extra
from bigmodel_tf.export.client import SIGNATURE_NAME
from bigmodel_tf.io import publish_folder, staging_folder, write_json
from bigmodel_tf.manifest import write_manifest

log = logging.getLogger("bigmodel_tf.export")
OPSET = 17
MODEL_FILE = "model.onnx"
METADATA_FILE = "onnx.json"
PARITY_EXAMPLES = 1000  # test examples compared at most
# The largest difference of a float output, and the smallest match rate of an integer one,
# still counted as the same model (float32 kernels of two runtimes differ by ~1e-7).
MAX_ABS_DIFF = 1e-4
MIN_MATCH = 0.99


def onnx_base(version_dir: str | Path) -> str | Path:
    """``<export_dir>/<name>-onnx`` for the version ``<export_dir>/<name>/<version>`` (a URL
    for a URL)."""
    models = remote.parent(version_dir)
    return remote.join(remote.parent(models), f"{remote.name(models)}-onnx")


@contextlib.contextmanager
def _quiet_tf2onnx():
    """Silence tf2onnx's own log lines (the CLI reports the outcome in one line)."""
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _unmapped_ops(model) -> list[str]:
    """Op types of ``model``'s graph that no ONNX opset defines: the TensorFlow ops tf2onnx
    could not map (it leaves them in the graph under their TensorFlow name)."""
    import onnx

    def walk(graph):
        for node in graph.node:
            yield node
            for attribute in node.attribute:  # the bodies of If and Loop nodes
                subgraphs = [attribute.g] if attribute.HasField("g") else []
                for sub in [*subgraphs, *attribute.graphs]:
                    yield from walk(sub)

    return sorted({node.op_type for node in walk(model.graph)
                   if not onnx.defs.has(node.op_type, node.domain)})


def convert(version_dir: str | Path):
    """The ONNX ModelProto of a SavedModel's ``serving_default`` signature (opset 17).

    An op tf2onnx cannot map is an ExportError naming it.
    """
    from tf2onnx import optimizer, tf_loader, tfonnx

    with _quiet_tf2onnx():
        graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
            str(version_dir), None, None, signatures=[SIGNATURE_NAME],
            return_initialized_tables=True, return_tensors_to_rename=True)
        with tf.Graph().as_default() as graph:
            tf.import_graph_def(graph_def, name="")
            onnx_graph = tfonnx.process_tf_graph(
                graph, opset=OPSET, input_names=inputs, output_names=outputs,
                tensors_to_rename=renames, initialized_tables=tables)
        model = optimizer.optimize_graph(onnx_graph).make_model(f"converted from {version_dir}")
    unmapped = _unmapped_ops(model)
    if unmapped:
        raise ExportError(f"{version_dir}: tf2onnx cannot convert op {', '.join(unmapped)} to "
                          f"ONNX opset {OPSET}; the SavedModel version stays published "
                          "(export.formats without onnx exports it alone)")
    return model


def _feeds(names: list[str], examples) -> dict[str, np.ndarray]:
    """Input name -> array: ``examples`` itself when it is a dict, else the one input."""
    if isinstance(examples, dict):
        return {name: np.asarray(examples[name])[:PARITY_EXAMPLES] for name in names}
    if len(names) != 1:
        raise ExportError(f"the signature takes inputs {names}; parity needs a dict of them")
    return {names[0]: np.asarray(examples, dtype=np.float32)[:PARITY_EXAMPLES]}


def _compare(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """One output's agreement: match rate (integers) or max and RMS difference (floats;
    NaN in both counts as equal)."""
    if np.issubdtype(reference.dtype, np.integer):
        match = float(np.mean(reference == candidate))
        return {"match": match, "within_tolerance": match >= MIN_MATCH}
    both_nan = np.isnan(reference) & np.isnan(candidate)
    diff = np.where(both_nan, 0.0, np.abs(reference.astype(np.float64) - candidate))
    worst = float(np.max(diff))
    return {"max_abs_diff": worst, "rms_diff": float(np.sqrt(np.mean(diff**2))),
            "within_tolerance": bool(worst <= MAX_ABS_DIFF)}


def parity(version_dir: str | Path, onnx_path: Path, examples) -> dict:
    """Every output of the SavedModel signature and of the ONNX model (onnxruntime, CPU)
    on the same ``examples``: {"examples", "outputs": {name: agreement}, "within_tolerance"}."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feeds = _feeds([i.name for i in session.get_inputs()], examples)
    names = [o.name for o in session.get_outputs()]
    candidate = dict(zip(names, session.run(names, feeds), strict=True))
    signature = tf.saved_model.load(str(version_dir)).signatures[SIGNATURE_NAME]
    reference = {k: v.numpy() for k, v in signature(**{k: tf.constant(v)
                                                       for k, v in feeds.items()}).items()}
    outputs = {name: _compare(reference[name], candidate[name]) for name in sorted(reference)}
    return {"examples": len(next(iter(feeds.values()))), "outputs": outputs,
            "within_tolerance": all(o["within_tolerance"] for o in outputs.values())}


def summary(result: dict) -> str:
    """The parity as one line: each output's match rate or largest difference."""
    parts = [f"{name} match {o['match']:.4f}" if "match" in o
             else f"{name} max abs diff {o['max_abs_diff']:.2g}"
             for name, o in result["outputs"].items()]
    return f"ONNX parity with the SavedModel on {result['examples']} examples: {', '.join(parts)}"


def export_onnx(version_dir: str | Path, examples=None,
                run_hash: str | None = None) -> Path | str:
    """Convert a published SavedModel version to ``<name>-onnx/<version>/model.onnx``, check
    parity on ``examples`` (raw inputs; None: not checked) and return that folder (a URL
    beside a version at a URL: written locally, then uploaded; remote.py).

    The folder of a version already converted is refused (never overwritten); a missing
    ``[onnx]`` extra or an op tf2onnx cannot map is a one-line UserError, and the SavedModel
    version stays as it is.
    """
    require_extra("onnx", "ONNX export")
    version_dir = remote.location(version_dir)
    target = remote.join(onnx_base(version_dir), remote.name(version_dir))
    if remote.exists(target):
        raise RunDirError(f"{target}: exists (version {remote.name(version_dir)} was "
                          "converted already); export a new SavedModel version to convert again")
    model = convert(version_dir)
    tmp = staging_folder(remote.parent(target))
    try:
        (tmp / MODEL_FILE).write_bytes(model.SerializeToString())
        checked = examples is not None and len(examples)
        result = parity(version_dir, tmp / MODEL_FILE, examples) if checked else None
        write_json(tmp / METADATA_FILE, {
            "source": str(version_dir), "opset": OPSET, "parity": result,
            "versions": {dist: metadata.version(dist)
                         for dist in ("tf2onnx", "onnx", "onnxruntime")}})
        write_manifest(tmp, run_hash)
        publish_folder(tmp, target)  # fails if another process published it meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if result is None:
        log.warning("%s: no examples given, parity with the SavedModel not checked", target)
    elif result["within_tolerance"]:
        log.info("%s: %s", remote.join(target, MODEL_FILE), summary(result))
    else:
        log.warning("%s disagrees with its SavedModel: %s (see %s)",
                    remote.join(target, MODEL_FILE), summary(result),
                    remote.join(target, METADATA_FILE))
    return target
