"""A fingerprint of the files behind ``data.path``, so a finished run notices changed data.

Training records the fingerprint of its CSV file, image folder or TFRecord folder in the
run's manifest.json; commands that read the run later compare it with the files as they
are now. The fingerprint is the number of files, their total bytes, a sha256 of the
listing (relative name, size, mtime) and a sha256 of the names and contents. A listing
that still matches means unchanged without reading the files again; otherwise the
contents decide (a file that was only touched is not a change). The built-in data sets
(digits, iris, ...) have no files and no fingerprint.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bigmodel_tf.config.sections import DataConfig

CHUNK = 1 << 20


def _files(root: Path) -> list[Path]:
    """The file itself, or every file under the folder (sorted); [] when absent."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def _name(path: Path, root: Path) -> str:
    """A file's name relative to the data root ('.' for a single file)."""
    return path.relative_to(root).as_posix()


def _listing_sha256(files: list[Path], root: Path) -> str:
    """sha256 of every file's relative name, size and modification time."""
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{_name(path, root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _content_sha256(files: list[Path], root: Path) -> str:
    """sha256 of every file's relative name and bytes."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{_name(path, root)}\0".encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    return digest.hexdigest()


def data_fingerprint(data: DataConfig) -> dict | None:
    """The fingerprint of ``data.path`` (None for a data set without files)."""
    if not data.path:
        return None
    root = Path(data.path)
    files = _files(root)
    return {
        "path": str(root),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "listing_sha256": _listing_sha256(files, root),
        "sha256": _content_sha256(files, root),
    }


def data_change(recorded: dict | None, data: DataConfig) -> str | None:
    """How ``data.path`` differs from the ``recorded`` fingerprint; None if it does not."""
    if not recorded or not data.path:
        return None
    root = Path(data.path)
    files = _files(root)
    if _listing_sha256(files, root) == recorded.get("listing_sha256"):
        return None
    now = {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}
    if now == {k: recorded.get(k) for k in now}:
        if _content_sha256(files, root) == recorded.get("sha256"):
            return None
        return f"data.path={root}: same size, different content"
    return (f"data.path={root}: {now['files']} file(s) of {now['bytes']} bytes, trained on "
            f"{recorded.get('files')} of {recorded.get('bytes')} bytes")
