"""Artifact manifests: sha256, config hash and library versions of every exported file.

A ``manifest.json`` sits in the folder of the artifacts it lists:

- a run directory: ``model.keras``, ``data_spec.json`` and ``history.csv`` (written by
  training), and under ``data`` the fingerprint of the files of ``data.path``;
- a TF Serving version ``saved_models/<name>/<version>/``: every file of the SavedModel
  (written into the temporary folder before it is renamed, so the version and its
  manifest appear together), and under ``serving`` the decision threshold ``class_id``
  applies and, for a CSV model, the column of each signature input;
- ``saved_models/<name>-onnx/<version>/``: ``model.onnx`` converted from that SavedModel
  version and ``onnx.json`` (its parity), written before the folder is renamed into place;
- ``saved_models/<name>-tflite/<N>/``: the ``.tflite`` files and compression.json of one
  ``bigmodel compress``.

Format::

    {"format": 1, "config_hash": "3f2a...", "versions": {"tensorflow": "2.21.0", ...},
     "files": {"model.keras": {"sha256": "...", "bytes": 123456}},
     "data": {"path": "wine.csv", "files": 1, "bytes": 10741, ...}}

``verify_file`` checks one file against its folder's manifest and ``verify_folder`` a
whole folder (every listed file present and matching, no unlisted file); both raise an
ArtifactError. The manifest guards against corrupt, truncated or swapped files; it is not
a signature (whoever can replace the files can rewrite it too).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from bigmodel_tf.config import library_versions
from bigmodel_tf.errors import ArtifactError
from bigmodel_tf.io import OWNER_MARKER, write_json

MANIFEST = "manifest.json"
FORMAT = 1


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(path: Path) -> dict:
    """The manifest entry of one file."""
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def _files_under(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative, sorted), the manifest and the folder's
    ownership marker (bigmodel_tf/io.py) excluded."""
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.is_file() and p.name not in (MANIFEST, OWNER_MARKER)
    )


def read_manifest(folder: Path) -> dict:
    """A folder's manifest; missing or unreadable is an ArtifactError."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{folder}: no {MANIFEST}, so its files cannot be verified") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise ArtifactError(f"{path}: unreadable or not valid JSON") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ArtifactError(f"{path}: not a manifest (no files)")
    return manifest


def write_manifest(
    folder: str | Path, config_hash: str | None, files: list[str] | None = None,
    data: dict | None = None, serving: dict | None = None,
) -> Path:
    """List ``files`` (relative to ``folder``; None = every file under it) in its manifest.

    ``config_hash`` is the hash of the config the files were made with (``config.config_hash``;
    None when there is none).

    Entries of other files already listed are kept, so artifacts added later to the same
    folder extend the manifest. ``data`` is the fingerprint of the training data
    (data/fingerprint.py), recorded in a run directory's manifest; ``serving`` what a TF
    Serving version serves (export/saved_model.py). Written atomically.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    listed = read_manifest(folder)["files"] if path.exists() else {}
    names = _files_under(folder) if files is None else files
    listed.update({name: _entry(folder / name) for name in names})
    manifest = {
        "format": FORMAT,
        "config_hash": config_hash,
        "versions": library_versions(),
        "files": dict(sorted(listed.items())),
    }
    if data is not None:
        manifest["data"] = data
    if serving is not None:
        manifest["serving"] = serving
    return write_json(path, manifest)


def _check(folder: Path, name: str, expected: dict) -> None:
    """Raise ArtifactError unless ``folder/name`` has the listed sha256."""
    path = folder / name
    if not path.is_file():
        raise ArtifactError(f"{path}: listed in {MANIFEST} but missing")
    if sha256_file(path) != expected.get("sha256"):
        raise ArtifactError(
            f"{path}: sha256 does not match {folder / MANIFEST} (corrupt, truncated or "
            "replaced); refusing to load it"
        )


def verify_file(path: str | Path) -> dict:
    """Check one file against the manifest in its folder; returns that manifest."""
    path = Path(path)
    manifest = read_manifest(path.parent)
    if path.name not in manifest["files"]:
        raise ArtifactError(f"{path}: not listed in {path.parent / MANIFEST}")
    _check(path.parent, path.name, manifest["files"][path.name])
    return manifest


def verify_folder(folder: str | Path) -> dict:
    """Check every file of a folder (e.g. a SavedModel version) against its manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    unlisted = sorted(set(_files_under(folder)) - set(manifest["files"]))
    if unlisted:
        raise ArtifactError(f"{folder / unlisted[0]}: not listed in {folder / MANIFEST}")
    for name, expected in manifest["files"].items():
        _check(folder, name, expected)
    return manifest
