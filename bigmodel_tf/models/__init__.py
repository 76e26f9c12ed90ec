"""The model zoo: ``build_model(model_cfg, spec, keras)`` returns an uncompiled classifier.

One module per architecture, each exposing ``build(model_cfg, spec, keras=keras)``: the
config's model section and the data spec, nothing else. The Keras module is a parameter so
the compression stage can rebuild the same model in ``tf_keras`` (TF-MOT) and copy weights
with ``get_weights``/``set_weights``. Every model takes RAW float32 inputs named
``spec.input_name``, normalizes them with the train-split statistics (weight-free
Normalization layer), and ends in a float32 softmax layer ``probabilities`` (preceded by the
Dense layer ``logits``), so mixed precision keeps a float32 output. ``model.name=auto`` is
resolved for the data by ``auto.resolve_model`` (runs resolve it before they start, with
its recipe; ``build_model`` picks the same architecture for callers that did not).

``model.name=package.module:function`` builds with a plug-in of the same signature
(bigmodel_tf/plugins.py); its result is checked against the spec before anything is
written. Importing this package registers the custom layers with Keras 3, which
``keras.models.load_model(..., safe_mode=True)`` needs.
"""

from __future__ import annotations

import dataclasses

import keras as keras3

from bigmodel_tf.config import ModelConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.models import cnn, mlp, mobilenetv2, resnet, transformer
from bigmodel_tf.models.auto import choose
from bigmodel_tf.plugins import is_plugin_path, load_plugin, name_error

_BUILDERS = {
    "mlp": mlp.build,
    "cnn": cnn.build,
    "resnet": resnet.build,
    "mobilenetv2": mobilenetv2.build,
    "transformer": transformer.build,
}
MODEL_NAMES = tuple(_BUILDERS)


def build_model(model_cfg: ModelConfig, spec: DataSpec, keras=keras3):
    """Build the uncompiled model ``model_cfg.name`` for ``spec`` with the ``keras`` given."""
    if model_cfg.name == "auto":
        model_cfg = dataclasses.replace(model_cfg, name=choose(spec)[0])
    if is_plugin_path(model_cfg.name):
        model = load_plugin("model.name", model_cfg.name)(model_cfg, spec, keras=keras)
        check_built(model, spec, keras, f"model.name={model_cfg.name}")
        return model
    try:
        builder = _BUILDERS[model_cfg.name]
    except KeyError:
        raise name_error("model.name", MODEL_NAMES, model_cfg.name) from None
    return builder(model_cfg, spec, keras=keras)


def check_built(model, spec: DataSpec, keras, where: str) -> None:
    """Raise ConfigError unless ``model`` is a ``keras.Model`` with the spec's input and output.

    One raw float32 input of shape ``spec.input_shape`` and one output of
    ``spec.output_units`` values per example (a class
    probability each, or one regression target), as every zoo model has.
    """
    if not isinstance(model, keras.Model):
        raise ConfigError(f"{where}: returned {type(model).__name__}, expected a "
                          f"{keras.__name__}.Model")
    inputs, outputs = model.inputs or [], model.outputs or []
    expected_in, expected_out = (None, *spec.input_shape), (None, spec.output_units)
    got_in = [tuple(t.shape) for t in inputs]
    got_out = [tuple(t.shape) for t in outputs]
    if got_in != [expected_in]:
        raise ConfigError(f"{where}: the model's inputs have shapes {got_in}, expected one "
                          f"input of shape {expected_in} (the data's examples)")
    if got_out != [expected_out]:
        raise ConfigError(f"{where}: the model's outputs have shapes {got_out}, expected one "
                          f"output of shape {expected_out} (one per class)")
