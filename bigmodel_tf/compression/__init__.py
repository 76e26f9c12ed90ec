"""Compression stage: TF-MOT pruning and QAT through the tf_keras bridge, TFLite, LiteRT.

``compress(cfg, run) -> CompressResult`` reads a finished run (a ``RunDir``) and
writes every TFLite variant with compression.json under
``<export.dir>/<export.name>/tflite/`` and the report (table, plot) under
``<run_dir>/compression/``. Modules, one concern each:
``bridge`` (Keras 3 <-> tf_keras copies, TF-MOT import), ``finetune``, ``pruning``,
``qat``, ``tflite_convert``, ``litert_eval`` (metrics, size, latency, parity), ``report``
and ``run`` (the entry).
"""

from bigmodel_tf.compression.run import CompressResult, compress

__all__ = ["CompressResult", "compress"]
