"""A run directory at a URL, worked on in a locked local copy.

``local_run_dir(path)`` is how the CLI opens a run directory: a local path as it is; a
URL (remote.py) as a working copy: the remote folder is copied into
``<cache>/<hash of the URL>/<name>`` (the cache is ``BIGMODEL_REMOTE_CACHE``, default
``~/.cache/bigmodel/remote``; the name is the URL's last) when the command starts, so that
a resume finds its backup, and the command runs on that local folder unchanged (atomic
renames, the run lock, every library that writes by file name). Each epoch's verified
backup is pushed from the checkpoint writer thread (``sync``, called by
training/backup.py), and everything once more when the command ends, however it ends.

A push uploads the files changed since the last one (remote.upload: old or new, never a
part; the files that mark a folder complete last), then removes what the run removed
(pruned snapshots, the finished run's backup). Never copied: the lock file, temporary
``.tmp-*`` names, io.py's hidden version folders (a folder published by ``publish_dir`` is
uploaded under its link's name and made a link again when pulled: object stores have no
links) and the tf.data file ``cache/`` folders (rebuilt when missing). After a successful
final push the working copy is deleted; a leftover one is replaced at the next start (the
remote folder is the run). Messages of a failed command name the URL, not the copy.

**Locks.** ``fcntl`` cannot lock a remote folder, and object stores have no lock. The
working copy is locked (run_lock.py) and its path follows from the URL, so two commands
on one machine cannot write the same remote run; two machines writing one remote run
directory are not protected against each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from bigmodel_tf import remote
from bigmodel_tf.errors import RunDirError, UserError
from bigmodel_tf.io import VERSION_NAME, restore_published
from bigmodel_tf.run_lock import LOCK_FILE, keep_lock, lock_run_dir

log = logging.getLogger("bigmodel_tf")
CACHE_ENV = "BIGMODEL_REMOTE_CACHE"


def _skipped(rel: str) -> bool:
    """Files never copied between a working copy and its URL (see the module docstring)."""
    parts = rel.split("/")
    return (parts[-1] == LOCK_FILE or parts[-1].startswith(remote.PROBE)
            or "cache" in parts[:-1]
            or any(p.startswith(".tmp-") or VERSION_NAME.fullmatch(p) for p in parts))


class WorkingCopy:
    """A local folder mirroring a remote run directory: pulled once, pushed repeatedly."""

    def __init__(self, url: str, local: Path):
        self.url, self.local = url, local
        self._sent: dict[str, tuple[int, int]] = {}  # what the URL holds, by local stat
        self._lock = threading.Lock()  # the writer thread and the main thread both push

    def _clear(self) -> None:
        """Empty the local folder but for its lock file."""
        for entry in self.local.iterdir():
            if entry.name == LOCK_FILE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def pull(self) -> None:
        """Make the local folder a copy of the URL (the lock file stays)."""
        self._clear()
        copied = remote.download(self.url, self.local, _skipped)
        restore_published(self.local)
        stats = remote.local_files(self.local, _skipped)
        self._sent = {rel: stats[rel] for rel in copied if rel in stats}

    def push(self) -> None:
        """Upload what changed since the last push, then remove what the run removed."""
        gfile = remote.tf_gfile()
        with self._lock:
            now = remote.local_files(self.local, _skipped)
            changed = (rel for rel in now if self._sent.get(rel) != now[rel])
            for rel in sorted(changed, key=remote.upload_order):
                remote.upload(self.local / rel, remote.join(self.url, rel))
                self._sent[rel] = now[rel]
            gone = sorted(set(self._sent) - set(now))
            for rel in gone:
                with contextlib.suppress(Exception):  # removed already
                    gfile.remove(remote.join(self.url, rel))
                del self._sent[rel]
            emptied = {rel.rsplit("/", 1)[0] for rel in gone if "/" in rel}
            for folder in sorted(emptied, key=len, reverse=True):
                url = remote.join(self.url, folder)
                if (not (self.local / folder).exists() and gfile.isdir(url)
                        and not gfile.listdir(url)):
                    gfile.rmtree(url)

    def move_to(self, target: str) -> None:
        """Copy the run to the new URL ``target``, then empty it here and at its URL."""
        remote.upload_tree(self.local, target, _skipped)
        self._clear()
        self.push()

    def url_of(self, path: str | Path) -> str:
        """The URL of a path inside the working copy."""
        rel = Path(path).relative_to(self.local).as_posix()
        return self.url if rel == "." else remote.join(self.url, rel)


_copies: dict[Path, WorkingCopy] = {}  # local root -> its working copy, while in use


def cache_root() -> Path:
    """Where working copies live: $BIGMODEL_REMOTE_CACHE or ~/.cache/bigmodel/remote."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "bigmodel" / "remote")


def _copy_of(path: str | Path) -> WorkingCopy | None:
    """The working copy that holds ``path``, if any."""
    path = Path(path).resolve()
    return next((c for root, c in _copies.items() if path == root or root in path.parents),
                None)


def copy_rooted_at(path: str | Path) -> WorkingCopy | None:
    """The working copy whose local folder is ``path``, if any."""
    return _copies.get(Path(path).resolve())


def sync(path: str | Path) -> None:
    """Push the working copy that holds ``path`` (nothing for a local run); a failure is
    logged and retried by the next push, so training goes on."""
    copy = _copy_of(path)
    if copy is None:
        return
    try:
        copy.push()
    except Exception as exc:  # noqa: BLE001 - the final push reports what still fails
        log.warning("could not copy %s to %s yet (%s); retrying after the next epoch",
                    copy.local, copy.url, remote.reason(exc))


def shown(path: str | Path) -> str:
    """A path for messages: inside a working copy, its URL; else the path itself."""
    copy = _copy_of(path)
    return copy.url_of(path) if copy is not None else str(path)


def _renamed(exc: UserError, copy: WorkingCopy) -> UserError:
    """The same error with the working copy's path replaced by the URL."""
    renamed = type(exc)(str(exc).replace(str(copy.local), copy.url))
    renamed.exit_code = exc.exit_code
    return renamed


def _pull(copy: WorkingCopy, where: str) -> None:
    """Pull, a filesystem failure as one line."""
    import tensorflow as tf

    try:
        copy.pull()
    except tf.errors.OpError as exc:
        raise RunDirError(f"{where}: cannot be read ({remote.reason(exc)})") from None


@contextlib.contextmanager
def working_copy(url: str, key: str = "--run-dir", writable: bool = True,
                 existing: bool = False) -> Iterator[Path]:
    """The locked local working copy of the remote run directory ``url`` for the block
    (see the module docstring), pushed during and after it. ``writable=False`` (a command
    that only reads the run) checks only that the URL exists; ``existing``: a RunDirError
    unless the run is there."""
    url, where = url.rstrip("/"), remote.label(url.rstrip("/"), key)
    found = (remote.check_writable if writable else remote.exists_with_plugin)(url, key)
    if existing and not found:
        raise RunDirError(f"{where}: not found (expected a run directory made by "
                          "`bigmodel train`)")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    local = (cache_root() / digest / (remote.name(url) or "run")).resolve()
    with keep_lock(local), lock_run_dir(local):
        copy = WorkingCopy(url, local)
        _pull(copy, where)
        _copies[local] = copy
        try:
            yield local
        except UserError as exc:
            _push_after_failure(copy)
            raise _renamed(exc, copy) from None
        except BaseException:
            _push_after_failure(copy)
            raise
        finally:
            del _copies[local]
        _final_push(copy)
    shutil.rmtree(local.parent, ignore_errors=True)  # <cache>/<hash>: this copy's alone


def _push_after_failure(copy: WorkingCopy) -> None:
    """Push what a failed or interrupted command left (its backup); log a failed push."""
    try:
        copy.push()
    except Exception as exc:  # noqa: BLE001 - the command's own error is the one to report
        log.error("could not copy %s to %s (%s)", copy.local, copy.url, remote.reason(exc))


def _final_push(copy: WorkingCopy) -> None:
    """The last push of a command that succeeded; a failure keeps the working copy."""
    try:
        copy.push()
    except Exception as exc:  # noqa: BLE001 - any filesystem failure, in one line
        raise RunDirError(f"{copy.url}: the command finished but its files could not be "
                          f"copied there ({remote.reason(exc)}); they are in {copy.local}: "
                          "copy them before running a command on this run again (that "
                          "replaces the local copy)") from None


@contextlib.contextmanager
def local_run_dir(path: str | Path, key: str = "--run-dir", writable: bool = True,
                  existing: bool = False) -> Iterator[Path]:
    """A run directory to work in: the working copy of a URL (working_copy's arguments),
    or the local path itself."""
    if remote.is_url(path):
        with working_copy(path, key, writable, existing) as local:
            yield local
    else:
        yield Path(path)
