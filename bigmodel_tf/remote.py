"""Remote storage: URLs through tf.io.gfile, and exports published at a URL.

A path with a scheme (``gs://bucket/runs/x``, ``hdfs://namenode/x``, ``s3://bucket/x``,
TensorFlow's in-process ``ram://x``) is a URL. A URL stays a string and goes through
``tf.io.gfile`` only, never through pathlib: ``Path("s3://b/x")`` is the local path
``s3:/b/x``. ``location`` makes the one decision (a URL string, or a local ``Path``);
``join``, ``name``, ``parent`` and ``exists`` work on either.

**Checked before anything starts.** ``check_writable`` fails in one line (exit 2) when the
scheme has no filesystem in this TensorFlow (a ConfigError: which plug-in is missing;
tensorflow-io, which registers s3:// and hdfs://, is imported first when installed) or
when the URL cannot be written (a RunDirError: a probe file is written and removed).

**Files.** ``upload`` writes one file so that a reader sees the old or the new one, never
a part (a temporary name renamed over the target; directly on an object store, whose
objects appear only when complete); ``upload_tree`` sends a folder, the files that mark a
folder complete last (a snapshot's state.json, manifest.json, then metrics.json and
saved_model.pb); ``download`` and ``local_folder`` copy a URL's files into a local folder.
A run directory at a URL is worked on in a local copy (remote_run.py).

**Exports at a URL** (``export.dir``): the SavedModel, ONNX or TFLite folder is written in
a local temporary folder (io.staging_folder) and then uploaded into the next free version
folder (``upload_version``) or to its fixed place (``upload_folder``); an existing
version is never written to. A remote folder cannot be renamed into place in one step
(object stores copy object by object; ram:// renames a folder without its files), so a
reader may see a version folder while its files arrive, ``saved_model.pb`` last; TF
Serving retries a version it could not load. Two machines publishing into one base path
at the same moment may pick the same version number.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from bigmodel_tf.errors import ConfigError, RunDirError

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
PROBE = ".bigmodel-write-probe"
# Uploaded after every other file of their folder (a higher rank later): each marks its
# folder complete (a backup snapshot, a manifest's files, a finished run, a SavedModel).
_LAST = {"state.json": 1, "manifest.json": 1, "metrics.json": 2, "saved_model.pb": 2}
# A file the run appends to while a push may read it: only its complete lines are sent.
_APPENDED = "history.csv"
# Object stores, where an object appears only once its upload is complete.
_WHOLE_OBJECTS = {"gs", "s3"}


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
    return tf_gfile().exists(path) if is_url(path) else Path(path).exists()


def tf_gfile():
    """tf.io.gfile, imported when a URL is first used."""
    import tensorflow as tf

    return tf.io.gfile


def reason(exc: BaseException) -> str:
    """The first line of a filesystem error's message."""
    return (getattr(exc, "message", None) or str(exc) or type(exc).__name__).splitlines()[0]


def label(url: str, key: str) -> str:
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


def exists_with_plugin(url: str, key: str) -> bool:
    """``gfile.exists(url)``, importing tensorflow-io for a scheme TensorFlow lacks; a
    ConfigError naming ``url`` as given by ``key`` (``label``) and what is missing when the
    scheme still has no filesystem, a RunDirError when the filesystem fails (no network,
    no credentials)."""
    import tensorflow as tf

    try:
        try:
            return tf_gfile().exists(url)
        except tf.errors.UnimplementedError:
            installed = _load_plugin()
        try:
            return tf_gfile().exists(url)
        except tf.errors.UnimplementedError:
            raise ConfigError(_no_filesystem(url, key, installed)) from None
    except tf.errors.OpError as exc:
        raise RunDirError(f"{label(url, key)}: cannot be read ({reason(exc)})") from None


def _no_filesystem(url: str, key: str, plugin_installed: bool) -> str:
    """The message for a scheme without a filesystem: what is missing."""
    import tensorflow as tf

    scheme = _SCHEME.match(url).group(1)
    missing = (f"tensorflow-io is installed but gives this TensorFlow {tf.__version__} no "
               f"{scheme}://: a tensorflow-io release loads only into the TensorFlow "
               "versions it was built for" if plugin_installed else
               "s3:// and hdfs:// need a filesystem plug-in built for this TensorFlow, "
               "such as tensorflow-io's")
    return (f"{label(url, key)}: this TensorFlow has no filesystem for {scheme}:// (expected "
            f"a local path, gs://, or a scheme whose plug-in is installed; {missing})")


def check_writable(url: str, key: str) -> bool:
    """Raise unless ``url`` has a filesystem here and a file can be written under it;
    whether ``url`` existed.

    A scheme without a filesystem is a ConfigError naming the plug-in; a folder that
    cannot be created or written is a RunDirError with the filesystem's reason. The probe
    file is removed again, and so is the folder if the probe created it.
    """
    import tensorflow as tf

    gfile = tf_gfile()
    existed = exists_with_plugin(url, key)
    try:
        gfile.makedirs(url)
        probe = join(url, f"{PROBE}-{os.getpid()}")
        with gfile.GFile(probe, "w") as handle:
            handle.write("bigmodel checks that this folder can be written\n")
        gfile.remove(probe)
        if not existed and gfile.isdir(url) and not gfile.listdir(url):
            gfile.rmtree(url)
    except tf.errors.OpError as exc:
        raise RunDirError(f"{label(url, key)}: cannot be written ({reason(exc)}); expected "
                          "a folder this process may create and write") from None
    return existed


def upload_order(rel: str) -> tuple:
    """Upload order: a folder's marker files after the rest, metrics.json last of all."""
    return _LAST.get(rel.rsplit("/", 1)[-1], 0), rel


def local_files(root: Path, skip=lambda rel: False) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime in ns) of every file under ``root`` (a linked folder
    as the files it links to) but those ``skip(rel)`` is true for."""
    files = {}
    for folder, _, names in os.walk(root, followlinks=True):
        for file_name in names:
            path = Path(folder, file_name)
            rel = path.relative_to(root).as_posix()
            if not skip(rel):
                try:
                    stat = path.stat()
                except FileNotFoundError:  # renamed away meanwhile (a finished write)
                    continue
                files[rel] = (stat.st_size, stat.st_mtime_ns)
    return files


def remote_files(url: str) -> list[str]:
    """Relative paths of every file under ``url`` ([] when it does not exist)."""
    gfile, files = tf_gfile(), []
    for folder, _, names in gfile.walk(url):
        prefix = folder.rstrip("/")[len(url):].strip("/")
        files += [f"{prefix}/{n}".lstrip("/") for n in names]
    return sorted(files)


def upload(local: Path, url: str) -> None:
    """Copy one file to ``url`` so that a reader sees the old or the new file, never a part:
    under a temporary name renamed over the target, or (an object store, whose objects
    appear only when complete) directly."""
    gfile = tf_gfile()
    folder, file_name = url.rsplit("/", 1)
    gfile.makedirs(folder)
    direct = _SCHEME.match(url).group(1) in _WHOLE_OBJECTS
    tmp = url if direct else f"{folder}/.tmp-{os.getpid()}-{file_name}"
    if file_name == _APPENDED:  # only whole lines: a row may be half written right now
        data = local.read_bytes()
        with gfile.GFile(tmp, "wb") as handle:
            handle.write(data[: data.rfind(b"\n") + 1])
    else:
        gfile.copy(str(local), tmp, overwrite=True)
    if not direct:
        gfile.rename(tmp, url, overwrite=True)


def download(url: str, local: Path, skip=lambda rel: False) -> list[str]:
    """Copy every file under ``url`` (but those ``skip(rel)`` is true for) into the local
    folder ``local``; their relative paths."""
    gfile, copied = tf_gfile(), []
    for rel in remote_files(url):
        if skip(rel):
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


def upload_tree(local: Path, url: str, skip=lambda rel: False) -> None:
    """Upload every file under ``local`` (but those ``skip(rel)`` is true for) to the same
    relative path under ``url``, in ``upload_order``."""
    for rel in sorted(local_files(local, skip), key=upload_order):
        upload(local / rel, join(url, rel))


def _version_numbers(base: str) -> list[int]:
    """The integer-named folders under the URL ``base``, lowest first."""
    gfile = tf_gfile()
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
    _upload_new(local, target)
    return target


def upload_folder(local: Path, target: str) -> None:
    """Upload the finished local folder ``local`` to the new URL ``target``, delete it."""
    if exists(target):
        raise RunDirError(f"{target}: exists; refusing to write into it")
    _upload_new(local, target)


def _upload_new(local: Path, target: str) -> None:
    """Upload ``local`` to the new URL ``target`` and delete it; a failed upload removes
    what it wrote of ``target`` (which did not exist before)."""
    try:
        upload_tree(local, target)
    except BaseException:
        with contextlib.suppress(Exception):
            tf_gfile().rmtree(target)
        raise
    shutil.rmtree(local, ignore_errors=True)


def refuse_url(path, key: str, command: str) -> None:
    """A ConfigError for a URL where ``command`` takes only a local path."""
    if is_url(path):
        raise ConfigError(f"{label(path, key)}: {command} takes a local path here (remote "
                          "URLs work for train --run-dir, --run and export.dir)")
