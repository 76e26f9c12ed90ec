"""Export stage: a versioned SavedModel for TF Serving, its warm-up records, a serving client.

``saved_model`` writes ``<export.dir>/<name>/<version>/`` atomically; ``warmup`` writes the
``assets.extra/tf_serving_warmup_requests`` file inside it; ``client`` builds and sends
REST and gRPC predict requests to a running TF Serving (also ``python -m
bigmodel_tf.export.client``).
"""

from bigmodel_tf.export.saved_model import export_for_config, export_serving_model

__all__ = ["export_for_config", "export_serving_model"]
