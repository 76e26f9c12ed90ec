"""Export stage: a versioned SavedModel for TF Serving, its warm-up records, a serving client.

The entry, ``export(cfg, run_dir, model, spec, test)``, exports a trained model as
``export.*`` says; ``from_run.export_run`` is ``bigmodel export`` of a finished run.

``saved_model`` writes ``<export.dir>/<name>/<version>/`` atomically; ``warmup`` writes the
``assets.extra/tf_serving_warmup_requests`` file inside it; ``onnx`` converts a version to
``<export.dir>/<name>-onnx/<version>/model.onnx`` (tf2onnx, parity in onnxruntime;
``export.formats``); ``client`` builds and sends
REST and gRPC predict requests to a running TF Serving (also ``python -m
bigmodel_tf.export.client``).
"""

from bigmodel_tf.export.saved_model import export, export_serving_model

__all__ = ["export", "export_serving_model"]
