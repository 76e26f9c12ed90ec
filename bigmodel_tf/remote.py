"""Remote storage: a run directory or an export base path at a URL, through tf.io.gfile.

A path with a scheme (``gs://bucket/runs/x``, ``hdfs://namenode/x``, ``s3://bucket/x``,
TensorFlow's in-process ``ram://x``) is a URL. A URL stays a string and goes through
``tf.io.gfile`` only, never through pathlib: ``Path("s3://b/x")`` is the local path
``s3:/b/x``. ``location`` makes the one decision (a URL string, or a local ``Path``);
``join``, ``name``, ``parent`` and ``exists`` work on either.

**Checked before anything starts.** ``check_writable`` fails in one line (exit 2) when the
scheme has no filesystem in this TensorFlow (a ConfigError: which plug-in is missing) or
when the URL cannot be written (a RunDirError: a probe file is written and removed).

**A run directory at a URL** is worked on in a local working copy (``working_copy``): the
remote folder is copied into ``<cache>/<hash of the URL>/<name>`` (the cache is
``BIGMODEL_REMOTE_CACHE``, default ``~/.cache/bigmodel/remote``; the name is the URL's last)
when the command starts, so that a resume finds its backup; the command runs on that
local folder unchanged (atomic renames, the run lock, every library that writes by file
name); each epoch's verified backup is pushed from the checkpoint writer thread (``sync``,
called by training/backup.py), and everything once more when the command ends, however
it ends. A push uploads the files changed since the last
one, each under a temporary name renamed over the target (a reader sees the old or the
new file, never a part), the files that mark a folder complete last (a snapshot's
state.json, manifest.json, metrics.json), and then removes what the run removed (pruned
snapshots, the finished run's backup). Never uploaded: the lock file, temporary
``.tmp-*`` names, and the tf.data file ``cache/`` folders (rebuilt when missing). After a
successful final push the working copy is deleted; a leftover one is replaced at the next
start (the remote folder is the run).

**Locks.** ``fcntl`` cannot lock a remote folder, and object stores have no lock. The
working copy is locked (run_lock.py), and its path follows from the URL, so two commands
on one machine cannot write the same remote run; two machines writing one remote run
directory are not protected against each other.

**Exports at a URL** (``export.dir``): the SavedModel, ONNX or TFLite folder is written in
a local temporary folder and then uploaded into the next free version folder
(``upload_version``), ``saved_model.pb`` last, or to its fixed place (``upload_folder``);
an existing version is never written to. A remote folder cannot be renamed into place in
one step (object stores copy object by object), so a reader may see a version folder
while its files arrive; TF Serving retries a version whose ``saved_model.pb`` is not
there yet. Two machines publishing into one base path at the same moment may pick the
same version number.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

from bigmodel_tf.errors import ConfigError, RunDirError, UserError
from bigmodel_tf.run_lock import LOCK_FILE, keep_lock, lock_run_dir

log = logging.getLogger("bigmodel_tf")

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
CACHE_ENV = "BIGMODEL_REMOTE_CACHE"
PROBE = ".bigmodel-write-probe"
# Uploaded after every other file of their folder (a higher rank later): each marks its
# folder complete (a backup snapshot, a manifest's files, a finished run, a SavedModel).
_LAST = {"state.json": 1, "manifest.json": 1, "metrics.json": 2, "saved_model.pb": 2}
# A file the run appends to while a push may read it: only its complete lines are sent.
_APPENDED = "history.csv"


def is_url(path) -> bool:
    """Whether ``path`` is a URL (``scheme://...``) rather than a local path."""
    return isinstance(path, str) and _SCHEME.match(path) is not None


def location(path: str | Path) -> str | Path:
    """A URL as a string (without a trailing slash), anything else as a local Path."""
    return path.rstrip("/") if is_url(path) else Path(path)


def join(base: str | Path, *parts: str) -> str | Path:
    """``base`` joined with ``parts``: a URL string for a URL, else a Path."""
    if is_url(base):
        return "/".join([base.rstrip("/"), *parts])
    return Path(base, *parts)


def name(path: str | Path) -> str:
    """The last component of a URL or path."""
    return path.rstrip("/").rsplit("/", 1)[-1] if is_url(path) else Path(path).name


def parent(path: str | Path) -> str | Path:
    """The folder that holds a URL or path."""
    return path.rstrip("/").rsplit("/", 1)[0] if is_url(path) else Path(path).parent


def exists(path: str | Path) -> bool:
    """Whether a URL or local path exists."""
    return _gfile().exists(path) if is_url(path) else Path(path).exists()


def _gfile():
    """tf.io.gfile, imported when a URL is first used."""
    import tensorflow as tf

    return tf.io.gfile


def _reason(exc: BaseException) -> str:
    """The first line of a filesystem error's message."""
    return (getattr(exc, "message", None) or str(exc) or type(exc).__name__).splitlines()[0]


def _label(url: str, key: str) -> str:
    """How a message names the URL: ``--run-dir URL`` or ``export.dir=URL``."""
    return f"{key} {url}" if key.startswith("--") else f"{key}={url}"


def _load_plugin() -> bool:
    """Import tensorflow-io (it registers s3://, hdfs://, ...) if installed; whether it is."""
    if importlib.util.find_spec("tensorflow_io") is None:
        return False
    with warnings.catch_warnings():  # a plug-in built for another TensorFlow only warns
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):  # a broken plug-in: the scheme stays missing
            import tensorflow_io  # noqa: F401
    return True


def _exists_with_plugin(url: str, label: str) -> bool:
    """``gfile.exists(url)``, importing tensorflow-io for a scheme TensorFlow lacks; a
    ConfigError naming what is missing when the scheme still has no filesystem."""
    import tensorflow as tf

    try:
        return _gfile().exists(url)
    except tf.errors.UnimplementedError:
        installed = _load_plugin()
    try:
        return _gfile().exists(url)
    except tf.errors.UnimplementedError:
        scheme = _SCHEME.match(url).group(1)
        missing = (f"tensorflow-io is installed but gives this TensorFlow {tf.__version__} no "
                   f"{scheme}://: a tensorflow-io release loads only into the TensorFlow "
                   "versions it was built for" if installed else
                   "s3:// and hdfs:// need a filesystem plug-in built for this TensorFlow, "
                   "such as tensorflow-io's")
        raise ConfigError(f"{label}: this TensorFlow has no filesystem for {scheme}:// "
                          f"(expected a local path, gs://, or a scheme whose plug-in is "
                          f"installed; {missing})") from None


def check_writable(url: str, key: str) -> None:
    """Raise unless ``url`` has a filesystem here and a file can be written under it.

    A scheme without a filesystem is a ConfigError naming the plug-in; a folder that
    cannot be created or written is a RunDirError with the filesystem's reason. The probe
    file is removed again, and so is the folder if the probe created it.
    """
    import tensorflow as tf

    gfile, label = _gfile(), _label(url, key)
    existed = _exists_with_plugin(url, label)
    try:
        gfile.makedirs(url)
        probe = join(url, f"{PROBE}-{os.getpid()}")
        with gfile.GFile(probe, "w") as handle:
            handle.write("bigmodel checks that this folder can be written\n")
        gfile.remove(probe)
        if not existed and gfile.isdir(url) and not gfile.listdir(url):
            gfile.rmtree(url)
    except tf.errors.OpError as exc:
        raise RunDirError(f"{label}: cannot be written ({_reason(exc)}); expected a folder "
                          "this process may create and write") from None


def _excluded(rel: str) -> bool:
    """Files never copied between a working copy and its URL (see the module docstring)."""
    parts = rel.split("/")
    return (parts[-1] == LOCK_FILE or any(p.startswith(".tmp-") for p in parts)
            or "cache" in parts[:-1])


def _order(rel: str) -> tuple:
    """Upload order: a folder's marker files after the rest, metrics.json last of all."""
    return _LAST.get(rel.rsplit("/", 1)[-1], 0), rel


def _local_files(root: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime in ns) of every file under ``root`` to be copied."""
    files = {}
    for folder, _, names in os.walk(root):
        for file_name in names:
            path = Path(folder, file_name)
            rel = path.relative_to(root).as_posix()
            if not _excluded(rel):
                try:
                    stat = path.stat()
                except FileNotFoundError:  # renamed away meanwhile (a finished write)
                    continue
                files[rel] = (stat.st_size, stat.st_mtime_ns)
    return files


def remote_files(url: str) -> list[str]:
    """Relative paths of every file under ``url`` ([] when it does not exist)."""
    gfile, files = _gfile(), []
    for folder, _, names in gfile.walk(url):
        prefix = folder.rstrip("/")[len(url):].strip("/")
        files += [f"{prefix}/{n}".lstrip("/") for n in names]
    return sorted(files)


def _upload(local: Path, url: str) -> None:
    """Copy one file to ``url`` under a temporary name, then rename it over the target."""
    gfile = _gfile()
    folder, file_name = url.rsplit("/", 1)
    gfile.makedirs(folder)
    tmp = f"{folder}/.tmp-{os.getpid()}-{file_name}"
    if file_name == _APPENDED:  # only whole lines: a row may be half written right now
        data = local.read_bytes()
        with gfile.GFile(tmp, "wb") as handle:
            handle.write(data[: data.rfind(b"\n") + 1])
    else:
        gfile.copy(str(local), tmp, overwrite=True)
    gfile.rename(tmp, url, overwrite=True)


def download(url: str, local: Path) -> list[str]:
    """Copy every file under ``url`` into the local folder ``local``; their relative paths."""
    gfile, copied = _gfile(), []
    for rel in remote_files(url):
        if _excluded(rel):
            continue
        target = local / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
        gfile.copy(join(url, rel), str(tmp), overwrite=True)
        os.replace(tmp, target)
        copied.append(rel)
    return copied


@contextlib.contextmanager
def local_folder(path: str | Path) -> Iterator[Path]:
    """A folder to read: a temporary local copy of a URL (removed after the block), or the
    local path itself."""
    if not is_url(path):
        yield Path(path)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bigmodel-remote-"))
    try:
        download(path, tmp)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _upload_tree(local: Path, url: str) -> None:
    """Upload every file under ``local`` to the same relative path under ``url``."""
    for rel in sorted(_local_files(local), key=_order):
        _upload(local / rel, join(url, rel))


def _version_numbers(base: str) -> list[int]:
    """The integer-named folders under the URL ``base``, lowest first."""
    gfile = _gfile()
    if not gfile.isdir(base):
        return []
    names = (entry.rstrip("/") for entry in gfile.listdir(base))
    return sorted(int(n) for n in names if n.isascii() and n.isdigit())


def version_urls(base: str) -> list[str]:
    """The version folders under the URL ``base``, lowest first."""
    return [join(base, str(n)) for n in _version_numbers(base)]


def upload_version(local: Path, base: str) -> str:
    """Upload the finished local folder ``local`` as the next free version under the URL
    ``base`` (never into an existing one), delete ``local`` and return the version's URL."""
    numbers = _version_numbers(base)
    target = join(base, str(numbers[-1] + 1 if numbers else 1))
    while exists(target):  # another writer took it meanwhile
        target = join(base, str(int(name(target)) + 1))
    _upload_tree(local, target)
    shutil.rmtree(local, ignore_errors=True)
    return target


def upload_folder(local: Path, target: str) -> None:
    """Upload the finished local folder ``local`` to the new URL ``target``, delete it."""
    if exists(target):
        raise RunDirError(f"{target}: exists; refusing to write into it")
    _upload_tree(local, target)
    shutil.rmtree(local, ignore_errors=True)


class WorkingCopy:
    """A local folder mirroring a remote run directory: pulled once, pushed repeatedly."""

    def __init__(self, url: str, local: Path):
        self.url, self.local = url, local
        self._sent: dict[str, tuple[int, int]] = {}  # what the URL holds, by local stat
        self._lock = threading.Lock()  # the writer thread and the main thread both push

    def _clear(self) -> None:
        """Empty the local folder but for its lock file."""
        for entry in self.local.iterdir():
            if entry.name != LOCK_FILE:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    def pull(self) -> None:
        """Make the local folder a copy of the URL (the lock file stays)."""
        self._clear()
        copied = download(self.url, self.local)
        stats = _local_files(self.local)
        self._sent = {rel: stats[rel] for rel in copied if rel in stats}

    def push(self) -> None:
        """Upload what changed since the last push, then remove what the run removed."""
        gfile = _gfile()
        with self._lock:
            now = _local_files(self.local)
            for rel in sorted((r for r in now if self._sent.get(r) != now[r]), key=_order):
                _upload(self.local / rel, join(self.url, rel))
                self._sent[rel] = now[rel]
            gone = sorted(set(self._sent) - set(now))
            for rel in gone:
                with contextlib.suppress(Exception):  # removed already
                    gfile.remove(join(self.url, rel))
                del self._sent[rel]
            emptied = {rel.rsplit("/", 1)[0] for rel in gone if "/" in rel}
            for folder in sorted(emptied, key=len, reverse=True):
                remote = join(self.url, folder)
                if (not (self.local / folder).exists() and gfile.isdir(remote)
                        and not gfile.listdir(remote)):
                    gfile.rmtree(remote)

    def move_to(self, target: str) -> None:
        """Copy the run to the new URL ``target``, then empty it here and at its URL."""
        _upload_tree(self.local, target)
        self._clear()
        self.push()

    def url_of(self, path: str | Path) -> str:
        """The URL of a path inside the working copy."""
        rel = Path(path).relative_to(self.local).as_posix()
        return self.url if rel == "." else join(self.url, rel)


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
                    copy.local, copy.url, _reason(exc))


def shown(path: str | Path) -> str:
    """A path for messages: inside a working copy, its URL; else the path itself."""
    copy = _copy_of(path)
    return copy.url_of(path) if copy is not None else str(path)


def _renamed(exc: UserError, copy: WorkingCopy) -> UserError:
    """The same error with the working copy's path replaced by the URL."""
    renamed = type(exc)(str(exc).replace(str(copy.local), copy.url))
    renamed.exit_code = exc.exit_code
    return renamed


@contextlib.contextmanager
def working_copy(url: str, key: str = "--run-dir") -> Iterator[Path]:
    """The locked local working copy of the remote run directory ``url`` for the block
    (see the module docstring); pushed during and after the block."""
    url = url.rstrip("/")
    check_writable(url, key)
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    local = (cache_root() / digest / (name(url) or "run")).resolve()
    with keep_lock(local), lock_run_dir(local):
        copy = WorkingCopy(url, local)
        copy.pull()
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
    shutil.rmtree(local, ignore_errors=True)


def _push_after_failure(copy: WorkingCopy) -> None:
    """Push what a failed or interrupted command left (its backup); log a failed push."""
    try:
        copy.push()
    except Exception as exc:  # noqa: BLE001 - the command's own error is the one to report
        log.error("could not copy %s to %s (%s)", copy.local, copy.url, _reason(exc))


def _final_push(copy: WorkingCopy) -> None:
    """The last push of a command that succeeded; a failure keeps the working copy."""
    try:
        copy.push()
    except Exception as exc:  # noqa: BLE001 - any filesystem failure, in one line
        raise RunDirError(f"{copy.url}: the command finished but its files could not be "
                          f"copied there ({_reason(exc)}); they are in {copy.local}: copy "
                          "them before running a command on this run again (that replaces "
                          "the local copy)") from None


@contextlib.contextmanager
def local_run_dir(path: str | Path, key: str = "--run-dir") -> Iterator[Path]:
    """A run directory to work in: the working copy of a URL, or the local path itself."""
    if is_url(path):
        with working_copy(path, key) as local:
            yield local
    else:
        yield Path(path)


def refuse_url(path, key: str, command: str) -> None:
    """A ConfigError for a URL where ``command`` takes only a local path."""
    if is_url(path):
        raise ConfigError(f"{_label(path, key)}: {command} takes a local path here (remote "
                          "URLs work for train --run-dir, --run and export.dir)")
