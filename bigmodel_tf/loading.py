"""Safe loading of Keras models made by others: the ``.keras`` format only, checked first.

A model file can carry code: a Lambda layer holds Python bytecode, a legacy ``.h5`` full
model or a SavedModel is loaded without Keras' safe mode, and a config may name classes
from any module. ``load_keras_model`` therefore, before Keras sees the file:

1. refuses every format but ``.keras`` (by name and by content: a zip archive);
2. checks the file's sha256 against the ``manifest.json`` next to it (manifest.py);
3. reads ``config.json`` from the archive without deserializing anything and refuses a
   Lambda layer (or any ``__lambda__`` function), a class from a module outside Keras and
   this package, and a registered class of another package (a run's model plug-in adds its
   own package: ``packages``);

and then loads with ``keras.models.load_model(..., safe_mode=True)``. A refusal is an
ArtifactError and has no side effect: no module is imported, no code runs.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras

from bigmodel_tf.errors import ArtifactError
from bigmodel_tf.manifest import verify_file

FORBIDDEN_CLASSES = {"Lambda", "__lambda__", "TFOpLambda", "SlicingOpLambda"}
OWN_PACKAGE = "bigmodel_tf"
# Members Keras 3 writes into a .keras archive.
ARCHIVE_MEMBERS = {"config.json", "metadata.json", "model.weights.h5", "model.weights.npz"}


def _allowed(node: dict, packages: tuple[str, ...]) -> bool:
    """Whether one serialized object names a class Keras, this package or ``packages`` define."""
    module, registered = node.get("module"), node.get("registered_name")
    if registered and ">" in str(registered):
        package = str(registered).split(">", 1)[0]
        return package in (OWN_PACKAGE, *packages) and str(module).startswith(f"{package}.")
    if module is None or module == "builtins":  # keras tensors, tuples, built-in functions
        return node["class_name"] not in FORBIDDEN_CLASSES
    return module == "keras" or str(module).startswith("keras.")


def check_config(config, where: str, packages: tuple[str, ...] = ()) -> None:
    """Raise ArtifactError for a Lambda or a class from outside Keras, this package and the
    registered classes of ``packages``."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            name = node.get("class_name")
            if isinstance(name, str):
                if name in FORBIDDEN_CLASSES:
                    raise ArtifactError(
                        f"{where}: holds a {name} layer or function (arbitrary Python code); "
                        "refusing to load it"
                    )
                if not _allowed(node, packages):
                    raise ArtifactError(
                        f"{where}: names the unknown class {node.get('module')}.{name} "
                        f"(registered as {node.get('registered_name')!r}); only Keras and "
                        f"{', '.join((OWN_PACKAGE, *packages))} classes are loaded"
                    )
            stack.extend(node.values())


def read_keras_config(path: str | Path, packages: tuple[str, ...] = ()) -> dict:
    """The model config inside a ``.keras`` archive, read as JSON only (no Keras)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ArtifactError(
            f"{path}: only the .keras format is loaded (legacy .h5 models and SavedModels "
            "are loaded without Keras' safe mode)"
        )
    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"{path}: not a .keras archive (a zip file)")
    try:
        with zipfile.ZipFile(path) as archive:
            unexpected = [n for n in archive.namelist()
                          if n not in ARCHIVE_MEMBERS and not n.startswith("assets/")]
            if unexpected:
                raise ArtifactError(f"{path}: unexpected member {unexpected[0]!r} in the archive")
            config = json.loads(archive.read("config.json"))
    except (KeyError, OSError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError):
        raise ArtifactError(f"{path}: no readable config.json in the archive") from None
    check_config(config, str(path), packages)
    return config


def load_keras_model(path: str | Path, verify: bool = True, compile: bool = True,
                     packages: tuple[str, ...] = ()):
    """A Keras model from a ``.keras`` file, after the checks above (ArtifactError if not).

    ``verify=False`` skips only the manifest check (for a file with no manifest that the
    caller trusts); the format and content checks and safe mode always apply. ``packages``
    are plug-in packages (already imported) whose registered classes the file may use.
    """
    path = Path(path)
    if verify:
        verify_file(path)
    read_keras_config(path, packages)
    import bigmodel_tf.models  # noqa: F401  (registers this package's layers with Keras)

    try:
        return keras.models.load_model(path, safe_mode=True, compile=compile)
    except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ArtifactError(f"{path}: cannot be loaded ({reason})") from None
