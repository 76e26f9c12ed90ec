"""The model zoo: ``build_model(cfg, spec, keras)`` returns an uncompiled classifier.

One module per architecture, each exposing ``build(cfg, spec, keras=keras)``. The Keras
module is a parameter so the compression stage can rebuild the same model in ``tf_keras``
(TF-MOT) and copy weights with ``get_weights``/``set_weights``. Every model takes RAW
float32 inputs named ``spec.input_name``, normalizes them with the train-split statistics
(weight-free Normalization layer), and ends in a float32 softmax layer ``probabilities``
(preceded by the Dense layer ``logits``), so mixed precision keeps a float32 output.
``model.name=auto`` is resolved for the data by ``auto.resolve_model`` (runs resolve it
before they start; ``build_model`` resolves it too, for callers that did not).

Importing this package registers the custom layers with Keras 3, which
``keras.models.load_model(..., safe_mode=True)`` needs.
"""

from __future__ import annotations

import keras as keras3

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.models import cnn, mlp, mobilenetv2, resnet, transformer
from bigmodel_tf.models.auto import resolve_model

_BUILDERS = {
    "mlp": mlp.build,
    "cnn": cnn.build,
    "resnet": resnet.build,
    "mobilenetv2": mobilenetv2.build,
    "transformer": transformer.build,
}
MODEL_NAMES = tuple(_BUILDERS)


def build_model(cfg: ExperimentConfig, spec: DataSpec, keras=keras3):
    """Build the uncompiled model ``cfg.model.name`` for ``spec`` with the ``keras`` given."""
    cfg, _ = resolve_model(cfg, spec)
    try:
        builder = _BUILDERS[cfg.model.name]
    except KeyError:
        raise ConfigError(
            f"model.name: expected one of {', '.join(MODEL_NAMES)}, got {cfg.model.name!r}"
        ) from None
    return builder(cfg, spec, keras=keras)
