"""Export stage: a trained Keras 3 model as a versioned SavedModel for TF Serving.

Reads the model (which holds its own Normalization, so it takes raw inputs) and the
``DataSpec``; writes ``<export_dir>/<name>/<version>/``, a TF Serving model base path: a
SavedModel whose ``serving_default`` signature takes raw inputs and returns the outputs of
the data's task (``Task.serving_outputs``). The inputs are one named float32 batch
(``image`` or ``features``), or for a CSV model one named [batch] input per column
(float32 for a numeric column, string for a categorical one), encoded inside the SavedModel
by ``data.columns.column_encoder`` (Keras ``StringLookup``; an unseen category goes to its
out-of-vocabulary slot). Outputs: classification ``probabilities`` (float32 [batch,
classes]) and ``class_id`` (int64 [batch]: for a binary task the positive class where its
probability reaches the decision threshold ``export.threshold`` chose, else argmax; -1 with
NaN probabilities for a row with a non-finite value), regression ``prediction`` (float32
[batch], NaN for such a row); plus ``assets.extra/tf_serving_warmup_requests``. The applied
threshold is recorded in the version's manifest (``serving``) and in the SavedModel itself
(``tf.saved_model.load(path).decision_threshold``).

Each export is a new integer version (the highest existing + 1); an existing version is
never touched. Everything is first written to a hidden ``.tmp-*`` folder next to the
versions (TF Serving only loads integer folder names) and renamed into place, so a failed
export leaves nothing behind and TF Serving never sees a half-written version.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from bigmodel_tf import remote
from bigmodel_tf.config import ExperimentConfig, config_hash, export_name
from bigmodel_tf.data.columns import column_encoder, raw_columns, signature_inputs
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.data.split import Split
from bigmodel_tf.export.client import SIGNATURE_NAME
from bigmodel_tf.export.onnx import PARITY_EXAMPLES, export_onnx
from bigmodel_tf.export.warmup import write_warmup_file
from bigmodel_tf.io import publish_version, staging_folder
from bigmodel_tf.manifest import write_manifest
from bigmodel_tf.tasks import get_task

log = logging.getLogger("bigmodel_tf.export")


def input_signature(spec: DataSpec) -> list:
    """The signature's inputs: one float32 batch, or a CSV model's named raw columns."""
    columns = raw_columns(spec)
    if columns is None:
        return [tf.TensorSpec([None, *spec.input_shape], tf.float32, name=spec.input_name)]
    return [{c.key: tf.TensorSpec([None], tf.float32 if c.vocabulary is None else tf.string,
                                  name=c.key) for c in columns}]


def serving_function(model: keras.Model, spec: DataSpec, decision: dict | None = None,
                     encoder: keras.Model | None = None):
    """The endpoint: raw inputs (encoded by ``encoder`` first, when given) -> the outputs of
    ``spec.task`` (its ``serving_outputs`` with ``decision``: float32 however the model
    was trained, NaN or a sentinel for a row with a non-finite value)."""
    task = get_task(spec.task)

    def serve(inputs):
        features = inputs if encoder is None else encoder(inputs)
        return task.serving_outputs(features, model(features, training=False), spec, decision)

    return serve


def write_saved_model(model: keras.Model, spec: DataSpec, path: str | Path,
                      decision: dict | None = None) -> None:
    """Write the SavedModel with the ``serving_default`` signature to ``path``."""
    encoder = None if raw_columns(spec) is None else column_encoder(spec, keras)
    archive = keras.export.ExportArchive()
    archive.track(model)
    if encoder is not None:
        archive.track(encoder)
    archive.add_endpoint(SIGNATURE_NAME, serving_function(model, spec, decision, encoder),
                         input_signature=input_signature(spec))
    if decision is not None:
        archive.add_variable_collection(
            "decision_threshold", [tf.Variable(decision["threshold"], trainable=False,
                                               dtype=tf.float32, name="decision_threshold")])
    archive.write_out(str(path), verbose=False)


def serving_facts(spec: DataSpec, decision: dict | None) -> dict:
    """The manifest's ``serving`` entry: the applied decision rule (None: argmax or a
    regression) and, for a CSV model, each input's column name."""
    columns = raw_columns(spec)
    return {"decision": decision,
            "inputs": {c.key: c.name for c in columns} if columns else None}


def export_serving_model(
    model: keras.Model,
    spec: DataSpec,
    export_dir: str | Path,
    name: str,
    warmup_inputs: np.ndarray | None = None,
    run_hash: str | None = None,
    decision: dict | None = None,
) -> Path | str:
    """Export ``model`` as version N+1 of ``<export_dir>/<name>`` and return the version path
    (a URL for an ``export_dir`` URL: written locally, then uploaded; remote.py).

    ``warmup_inputs`` (examples as the Keras model takes them, [n, *input_shape]) become
    the warm-up requests (raw rows for a CSV model); with None or no examples, no warm-up
    file is written. ``decision`` is the task's decision rule (``Task.serving_decision``;
    None: argmax). The version's ``manifest.json`` lists the sha256 of every file, with
    ``run_hash`` (the hash of the model's config), the library versions and the serving
    facts (manifest.py, ``serving_facts``).
    """
    base = remote.join(export_dir, name)
    tmp = staging_folder(base)
    try:
        write_saved_model(model, spec, tmp, decision)
        if warmup_inputs is not None and len(warmup_inputs):
            write_warmup_file(tmp, warmup_inputs, name, spec)
        write_manifest(tmp, run_hash, serving=serving_facts(spec, decision))
        return publish_version(tmp, base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def export(
    cfg: ExperimentConfig,
    run_dir: Path,
    model: keras.Model,
    spec: DataSpec,
    test: Split | None = None,
) -> Path | str | None:
    """The export stage: the model trained in ``run_dir`` as a new TF Serving version, as
    ``cfg.export`` says (None when disabled), warmed up on the first examples of ``test``,
    with the decision threshold ``export.threshold`` chooses (the evaluation stage's
    threshold.json in ``run_dir`` for ``tuned``); with ``onnx`` in ``export.formats`` also
    that version in ONNX, checked on the first test examples."""
    if not cfg.export.enabled:
        return None
    examples = None if test is None else test.head(
        max(cfg.export.warmup_examples, PARITY_EXAMPLES))[0]
    warmup = None if examples is None else examples[: cfg.export.warmup_examples]
    decision = get_task(spec.task).serving_decision(cfg.export.threshold, cfg.evaluation,
                                                    run_dir, spec)
    path = export_serving_model(model, spec, cfg.export.dir, export_name(cfg), warmup,
                                config_hash(cfg), decision)
    log.info("exported the model of %s to %s", run_dir, path)
    if "onnx" in cfg.export.formats:
        checked = None if examples is None else signature_inputs(examples, spec)
        export_onnx(path, checked, config_hash(cfg))
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
