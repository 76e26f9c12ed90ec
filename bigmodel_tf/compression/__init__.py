"""Compression stage: TF-MOT pruning and QAT through the tf_keras bridge, TFLite, LiteRT.

``compress(cfg, run) -> CompressResult`` reads a finished run (a ``RunDir``) and
writes every TFLite variant with compression.json into a new numbered folder
``<export.dir>/<export.name>-tflite/<N>/`` (``layout``) and the report (table, plot) under
``<run_dir>/compression/``. Modules, one concern each:
``bridge`` (Keras 3 <-> tf_keras copies, TF-MOT import), ``finetune``, ``pruning``,
``qat``, ``tflite_convert``, ``litert_eval`` (metrics, size, latency, parity), ``report``,
``layout`` (where the TFLite versions go) and ``run`` (the entry).

TF-MOT, tf_keras and LiteRT are the ``[compress]`` extra: ``compress`` and
``CompressResult`` are imported from ``run`` on first use (PEP 562), after checking that
the extra is installed, so importing ``layout`` needs none of it.
"""

from bigmodel_tf.errors import require_extra

__all__ = ["CompressResult", "compress"]


def __getattr__(name: str):
    """``compress`` and ``CompressResult``, once the ``[compress]`` extra is found."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    require_extra("compress", "bigmodel compress")
    from bigmodel_tf.compression import run

    return getattr(run, name)
