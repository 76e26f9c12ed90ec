"""Where ``bigmodel compress`` puts its TFLite files: numbered versions beside the TF
Serving base path.

``<export_dir>/<name>-tflite/<N>/`` holds one compress run's ``.tflite`` files,
compression.json and manifest.json. Each run publishes the next N (``io.publish_version``)
and never touches an earlier one; beside, not inside, ``<export_dir>/<name>/``, so a sync
of the TF Serving base path ships no TFLite file. Needs none of the ``[compress]`` extra.
"""

from __future__ import annotations

from pathlib import Path

from bigmodel_tf import remote
from bigmodel_tf.io import version_folders


def tflite_base(export_dir: str | Path, name: str) -> Path | str:
    """``<export_dir>/<name>-tflite``: the folder of the TFLite versions of model ``name``
    (a URL for an ``export_dir`` URL)."""
    return remote.join(export_dir, f"{name}-tflite")


def newest_tflite_dir(export_dir: str | Path, name: str) -> Path | str | None:
    """The highest TFLite version folder of model ``name`` (None before the first compress)."""
    versions = version_folders(tflite_base(export_dir, name))
    return versions[-1] if versions else None
