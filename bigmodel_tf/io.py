"""Crash-safe writes and owned output folders: the package's one I/O module.

**Files.** ``atomic_write`` (bytes or text) and ``atomic_file`` (a temporary path for a
library that writes by file name) write beside the target, fsync the file, rename it over
the target (``os.replace``) and fsync the folder: the target is always the complete old
or the complete new content, after a kill or a power cut alike. Every file the package
writes into a run goes through one of them.

**Folders replaced as a whole** (compress's ``tflite/`` and ``RUN/compression/``). The
result's name is a symbolic link to a hidden sibling version folder::

    tflite -> .tflite-4242-1a2b3c4d      the published result
    .tflite-4343-5e6f7a8b/               being written by process 4343

``with staging_dir(final, kind) as staged:`` creates a new version folder
``.NAME-PID-HEX`` carrying the ownership marker; the command writes into it;
``publish_dir(staged, final)`` records its files in the marker, fsyncs every file and
folder, creates a new link ``.NAME-PID-HEX.link`` to it and renames that link over
``final``. Renaming a link is one atomic step, so at every instant ``final`` resolves to
a complete version, the old one or the new one, wherever a process is killed; only then
is the old version removed. Renaming an old folder aside and a new one in would leave an
instant with no ``final`` at all. What a killed process leaves (a version no link points
at, a temporary link) is removed by the next ``staging_dir`` for the same ``final``: only
names of that pattern, whose process no longer runs and (for folders) that carry the
marker; never a user's file.

**Ownership.** Every output folder a command creates carries ``.bigmodel-owner.json``
(``{"kind": "compress", ...}``). ``claim_dir`` accepts a path that does not exist, an
empty folder or a folder with the marker of the same command, and refuses anything else;
a folder replaced by ``publish_dir`` must moreover hold only the files it was published
with, so that replacing it loses nothing of the user's.

**Numbered versions** (TF Serving's ``<name>/1/``, ``2/``, ... and compress's TFLite
versions): a folder written in full under a hidden name is renamed to the next free
integer by ``publish_version``; an existing version is never touched. For a base path at a
URL the folder is written locally and uploaded (bigmodel_tf/remote.py).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bigmodel_tf import remote
from bigmodel_tf.errors import RunDirError

OWNER_MARKER = ".bigmodel-owner.json"
# Another writer may claim the same version between the look-up and the rename; retry then.
_PUBLISH_ATTEMPTS = 10
# The names of publish_dir's version folders and temporary links (group 1: the pid).
_VERSION_NAME = r"\.{}-(\d+)-[0-9a-f]{{8}}(\.link)?"
VERSION_NAME = re.compile(_VERSION_NAME.format(".+"))  # of any final


def _fsync_dir(folder: Path) -> None:
    """Make a folder's entries (renames, new files) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that takes a file name (Keras' save,
    matplotlib's savefig, plot_model); when the block ends without an error the file is
    fsynced, renamed over ``path`` and the folder fsynced, else it is removed.

    The temporary name keeps the target's suffix (Keras and plot_model read the format
    from it) and carries this process's id, so concurrent writers never share it.
    """
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (``atomic_file``)."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def write_json(path: str | Path, content: Any) -> Path:
    """Write ``content`` as indented JSON to ``path`` atomically."""
    return atomic_write(path, json.dumps(content, indent=2))


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a missing or unreadable one is a RunDirError naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise RunDirError(f"{path}: unreadable or not valid JSON") from None


def _marker(folder: Path) -> dict | None:
    """The ownership marker of ``folder``, or None when it has none (or a broken one)."""
    try:
        marker = json.loads((folder / OWNER_MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("kind"), str) else None


def _not_ours(path: Path, kind: str) -> RunDirError:
    """The refusal of a folder that this command did not make."""
    return RunDirError(f"{path}: exists and was not made by bigmodel {kind}; "
                       "choose a new or empty folder")


def _is_empty_dir(path: Path) -> bool:
    """A real (not linked) folder without entries."""
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _only_marker(folder: Path) -> bool:
    """A folder holding nothing but the marker or its temporary file (or nothing)."""
    return all(OWNER_MARKER in entry.name for entry in folder.iterdir())


def check_claimable(path: str | Path, kind: str) -> None:
    """Raise unless ``path`` is new, an empty folder or a folder made by ``kind``.

    A folder holding only a marker being written (its creator was killed) counts as empty.
    """
    path = Path(path)
    if not os.path.lexists(path):
        return
    if path.is_dir():
        marker = _marker(path)
        if (marker["kind"] == kind) if marker else _only_marker(path):
            return
    raise _not_ours(path, kind)


def claim_dir(path: str | Path, kind: str) -> Path:
    """The output folder ``path`` for command ``kind``, created and marked if new.

    Accepts a path that does not exist, an empty folder or a folder carrying the marker
    of the same ``kind``; anything else is a RunDirError ("choose a new or empty folder").
    """
    path = Path(path)
    check_claimable(path, kind)
    path.mkdir(parents=True, exist_ok=True)
    if _marker(path) is None:
        write_json(path / OWNER_MARKER, {"kind": kind})
    return path


def _files_under(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative, sorted), the marker excluded."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if not p.is_dir() and p.name != OWNER_MARKER)


def restore_published(root: Path) -> list[Path]:
    """Make each folder under ``root`` that ``publish_dir`` published, but that was copied
    without its link (a working copy of a run at a URL: object stores have no links), a
    link to a hidden version folder again, so that ``publish_dir`` may replace it; returns
    those folders."""
    restored = []
    for marker in sorted(root.rglob(OWNER_MARKER)):
        folder = marker.parent
        if folder == root or folder.is_symlink() or "files" not in (_marker(folder) or {}):
            continue
        version = folder.with_name(f".{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.rename(folder, version)
        link = version.with_name(f"{version.name}.link")
        os.symlink(version.name, link)
        os.replace(link, folder)
        restored.append(folder)
    return restored


def _version_pattern(final: Path) -> re.Pattern:
    """Names of ``final``'s version folders and temporary links; group 1 is the pid."""
    return re.compile(_VERSION_NAME.format(re.escape(final.name)))


def _version_of(final: Path) -> Path | None:
    """The version folder that the link ``final`` points at, or None."""
    if not final.is_symlink():
        return None
    target = os.readlink(final)
    return final.parent / target if _version_pattern(final).fullmatch(target) else None


def check_replaceable(final: str | Path, kind: str) -> None:
    """Raise unless ``publish_dir`` may replace ``final`` without losing a user's file.

    ``final`` may be absent, an empty folder, or a link to a version published by
    ``kind`` that holds only the files it was published with.
    """
    final = Path(final)
    version = _version_of(final)
    if version is None:
        if os.path.lexists(final) and not _is_empty_dir(final):
            raise _not_ours(final, kind)
        return
    if not version.exists():  # a link whose version is gone: nothing left to lose
        return
    marker = _marker(version)
    if marker is None or marker["kind"] != kind:
        raise _not_ours(final, kind)
    foreign = sorted(set(_files_under(version)) - set(marker.get("files", [])))
    if foreign:
        raise RunDirError(f"{final / foreign[0]}: was not written by bigmodel {kind}; move "
                          f"it out of {final} (bigmodel {kind} replaces that folder as a "
                          "whole)")


def _running(pid: int) -> bool:
    """Whether a process with this id exists (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's; no pid this tool wrote
        pass
    return True


def _remove_version(folder: Path) -> None:
    """Delete a version folder, its marker last: a kill part-way leaves it recognisable."""
    for entry in folder.iterdir():
        if entry.name == OWNER_MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    (folder / OWNER_MARKER).unlink(missing_ok=True)
    folder.rmdir()


def _made_here(entry: Path) -> bool:
    """A real folder with the ownership marker, or with nothing else (killed early)."""
    return (not entry.is_symlink() and entry.is_dir()
            and (_marker(entry) is not None or _only_marker(entry)))


def clean_stale(final: str | Path) -> list[Path]:
    """Remove the versions and links of ``final`` that killed processes left; return them.

    Only names of the version pattern whose process no longer runs, that ``final`` does
    not point at and (folders) that carry the ownership marker or hold nothing else (a
    kill before the marker was complete).
    """
    final = Path(final)
    if not final.parent.is_dir():
        return []
    pattern, current = _version_pattern(final), _version_of(final)
    removed = []
    for entry in final.parent.iterdir():
        match = pattern.fullmatch(entry.name)
        if not match or entry == current or _running(int(match.group(1))):
            continue
        if match.group(2) and entry.is_symlink():
            entry.unlink()
        elif _made_here(entry):
            _remove_version(entry)
        else:
            continue
        removed.append(entry)
    return removed


@contextmanager
def staging_dir(final: str | Path, kind: str) -> Iterator[Path]:
    """A new hidden version folder of ``final``, marked as ``kind``'s, to publish in it.

    Leftovers of killed processes are removed first (``clean_stale``); if the block
    fails, the version is removed unless it was published.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final)
    staged = final.parent / f".{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staged.mkdir()
    try:
        write_json(staged / OWNER_MARKER, {"kind": kind, "pid": os.getpid()})
        yield staged
    except BaseException:
        if _version_of(final) != staged:
            _remove_version(staged)
        raise


def _fsync_tree(folder: Path) -> None:
    """Make every file and folder under ``folder`` durable."""
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def publish_dir(staged: str | Path, final: str | Path) -> None:
    """Make the finished ``staged`` folder the result at ``final`` in one atomic rename.

    ``staged`` comes from ``staging_dir(final, kind)``. The files are recorded in its
    marker and synced, a link to it replaces ``final`` (checked with
    ``check_replaceable`` first), and the version ``final`` pointed at before is removed.
    """
    staged, final = Path(staged), Path(final)
    marker = _marker(staged)
    check_replaceable(final, marker["kind"])
    write_json(staged / OWNER_MARKER, {**marker, "files": _files_under(staged)})
    _fsync_tree(staged)
    previous = _version_of(final)
    if _is_empty_dir(final):
        os.rmdir(final)
    link = staged.with_name(f"{staged.name}.link")
    os.symlink(staged.name, link)
    os.replace(link, final)
    _fsync_dir(final.parent)
    if previous is not None and previous != staged and previous.is_dir():
        _remove_version(previous)


def staging_folder(parent: str | Path) -> Path:
    """A new hidden ``.tmp-<pid>-<random>`` folder in ``parent`` (made if needed), to be
    written in full and then renamed into place. Not mkdtemp: its 0700 mode would survive
    the rename and hide the folder from a reader running as another user (TF Serving).
    For a URL ``parent`` it is a local temporary folder, uploaded by ``publish_version``
    or ``publish_folder`` (bigmodel_tf/remote.py)."""
    if remote.is_url(parent):
        return Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-"))
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def version_folders(base: str | Path) -> list[Path] | list[str]:
    """The integer-named version folders under ``base``, lowest first ([] without ``base``);
    URLs for a URL ``base``."""
    if remote.is_url(base):
        return remote.version_urls(base)
    base = Path(base)
    if not base.is_dir():
        return []
    return sorted((p for p in base.iterdir() if p.name.isascii() and p.name.isdigit()),
                  key=lambda p: int(p.name))


def next_version(base: Path) -> int:
    """The next free version under the local folder ``base``: 1, or the highest + 1."""
    versions = version_folders(base)
    return int(versions[-1].name) + 1 if versions else 1


def publish_version(tmp: Path, base: str | Path) -> Path | str:
    """Rename the finished folder ``tmp`` (inside ``base``) to the next free version folder
    and return that folder; for a URL ``base``, upload it there (remote.upload_version)."""
    if remote.is_url(base):
        return remote.upload_version(tmp, base)
    for _ in range(_PUBLISH_ATTEMPTS):
        target = base / str(next_version(base))
        try:
            os.rename(tmp, target)
            return target
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    raise OSError(f"{base}: no free version folder after {_PUBLISH_ATTEMPTS} attempts")


def publish_folder(tmp: Path, target: str | Path) -> None:
    """Rename the finished folder ``tmp`` to the new ``target`` (an OSError if it exists);
    for a URL ``target``, upload it there (remote.upload_folder)."""
    if remote.is_url(target):
        remote.upload_folder(tmp, target)
    else:
        os.rename(tmp, target)
