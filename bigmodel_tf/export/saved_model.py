"""Export stage: a trained Keras 3 model as a versioned SavedModel for TF Serving.

Reads the model (which holds its own Normalization, so it takes raw inputs) and the
``DataSpec`` (input name and shape); writes ``<export_dir>/<name>/<version>/``, a TF
Serving model base path: a SavedModel whose ``serving_default`` signature takes one named
float32 batch and returns the outputs of the data's task (``Task.serving_outputs``):
classification ``probabilities`` (float32 [batch, classes]) and ``class_id`` (int64
[batch]; -1 with NaN probabilities for a row with a non-finite value), regression
``prediction`` (float32 [batch], NaN for such a row); plus
``assets.extra/tf_serving_warmup_requests``.

Each export is a new integer version (the highest existing + 1); an existing version is
never touched. Everything is first written to a hidden ``.tmp-*`` folder next to the
versions (TF Serving only loads integer folder names) and renamed into place, so a failed
export leaves nothing behind and TF Serving never sees a half-written version.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from bigmodel_tf.config import ExperimentConfig, config_hash, export_name
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.export.client import SIGNATURE_NAME
from bigmodel_tf.export.onnx import export_onnx
from bigmodel_tf.export.warmup import write_warmup_file
from bigmodel_tf.io import publish_version
from bigmodel_tf.manifest import write_manifest
from bigmodel_tf.tasks import get_task

log = logging.getLogger("bigmodel_tf.export")


def serving_function(model: keras.Model, spec: DataSpec):
    """The endpoint: a raw float32 batch -> the outputs of ``spec.task`` (its
    ``serving_outputs``: float32 however the model was trained, NaN or a sentinel for a row
    with a non-finite value)."""
    task = get_task(spec.task)

    def serve(inputs):
        return task.serving_outputs(inputs, model(inputs, training=False), spec)

    return serve


def write_saved_model(model: keras.Model, spec: DataSpec, path: str | Path) -> None:
    """Write the SavedModel with the ``serving_default`` signature to ``path``."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        SIGNATURE_NAME,
        serving_function(model, spec),
        input_signature=[
            tf.TensorSpec([None, *spec.input_shape], tf.float32, name=spec.input_name)
        ],
    )
    archive.write_out(str(path), verbose=False)


def export_serving_model(
    model: keras.Model,
    spec: DataSpec,
    export_dir: str | Path,
    name: str,
    warmup_inputs: np.ndarray | None = None,
    run_hash: str | None = None,
) -> Path:
    """Export ``model`` as version N+1 of ``<export_dir>/<name>`` and return the version path.

    ``warmup_inputs`` (raw examples, [n, *input_shape]) become the warm-up requests; with
    None or no examples, no warm-up file is written. The version's ``manifest.json`` lists
    the sha256 of every file, with ``run_hash`` (the hash of the model's config) and the
    library versions (manifest.py).
    """
    base = Path(export_dir) / name
    base.mkdir(parents=True, exist_ok=True)
    # Not mkdtemp: its 0700 mode would survive the rename and hide the model from a
    # TF Serving process running as another user.
    tmp = base / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write_saved_model(model, spec, tmp)
        if warmup_inputs is not None and len(warmup_inputs):
            write_warmup_file(tmp, warmup_inputs, name, spec)
        write_manifest(tmp, run_hash)
        return publish_version(tmp, base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def export(
    cfg: ExperimentConfig,
    run_dir: Path,
    model: keras.Model,
    spec: DataSpec,
    examples: np.ndarray | None = None,
) -> Path | None:
    """The export stage: the model trained in ``run_dir`` as a new TF Serving version, as
    ``cfg.export`` says (None when disabled), warmed up on the first ``examples``; with
    ``onnx`` in ``export.formats`` also that version in ONNX, checked on ``examples``."""
    if not cfg.export.enabled:
        return None
    warmup = None if examples is None else np.asarray(examples)[: cfg.export.warmup_examples]
    path = export_serving_model(model, spec, cfg.export.dir, export_name(cfg), warmup,
                                config_hash(cfg))
    log.info("exported the model of %s to %s", run_dir, path)
    if "onnx" in cfg.export.formats:
        export_onnx(path, examples, config_hash(cfg))
    return path


def signature_info(path: str | Path, signature_name: str = SIGNATURE_NAME) -> dict:
    """Inputs and outputs (dtype, shape) of a signature, read from saved_model.pb.

    Reads the proto only, without loading the model, so it is cheap enough to report
    what an export serves.
    """
    saved = saved_model_pb2.SavedModel.FromString((Path(path) / "saved_model.pb").read_bytes())
    graph = next(g for g in saved.meta_graphs if "serve" in g.meta_info_def.tags)
    if signature_name not in graph.signature_def:
        raise KeyError(f"{path}: no signature {signature_name!r}")
    signature = graph.signature_def[signature_name]

    def describe(tensors) -> dict:
        return {
            key: {
                "dtype": tf.dtypes.as_dtype(info.dtype).name,
                "shape": None
                if info.tensor_shape.unknown_rank
                else [dim.size for dim in info.tensor_shape.dim],
            }
            for key, info in sorted(tensors.items())
        }

    return {"inputs": describe(signature.inputs), "outputs": describe(signature.outputs)}
