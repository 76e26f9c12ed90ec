"""An exclusive lock on a run directory: one bigmodel process writes a run at a time.

``lock_run_dir(run_dir)`` holds ``fcntl.flock`` on ``<run_dir>/.bigmodel.lock`` (which
then holds the holder's pid, for the message of the process that is refused). A second
process is refused at once with a RunDirError instead of waiting. The operating system
releases the lock when its process ends, however it ends, so a killed run leaves no
stale lock behind. ``train --workers N`` takes the lock in the launcher and hands it to
the chief (the process that writes the run directory) as an inherited file descriptor
named in ``BIGMODEL_RUN_LOCK_FD``; the other workers lock their own folders under
``workers/``. ``keep_lock(run_dir)`` keeps the lock that the code inside it takes until
the block ends: the experiments layer holds a run locked from training to metrics.json,
while the training stage still takes the lock only once it starts writing (a failed start
leaves nothing behind). No TensorFlow here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from bigmodel_tf.errors import RunDirError

LOCK_FILE = ".bigmodel.lock"
INHERITED_LOCK_ENV = "BIGMODEL_RUN_LOCK_FD"
# Run directories inside a keep_lock block -> the descriptors of the locks taken there.
_kept: dict[Path, list[int]] = {}


def _holder(path: Path) -> str:
    """The pid written in the lock file, or ``unknown``."""
    try:
        return path.read_text(encoding="ascii").strip() or "unknown"
    except (OSError, UnicodeDecodeError):
        return "unknown"


def _inherited(path: Path) -> int | None:
    """The inherited descriptor of this very lock file (train --workers' chief), if any."""
    fd = os.environ.get(INHERITED_LOCK_ENV, "")
    if not fd.isdigit():
        return None
    try:
        held, here = os.fstat(int(fd)), os.stat(path)
    except OSError:
        return None
    return int(fd) if (held.st_dev, held.st_ino) == (here.st_dev, here.st_ino) else None


def acquire(run_dir: Path) -> int:
    """Lock ``run_dir`` (created if needed) and return the lock's file descriptor."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunDirError(f"{run_dir}: in use by another bigmodel process (pid "
                          f"{_holder(path)}); wait for it or use another --run-dir") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode("ascii"))
    return fd


@contextlib.contextmanager
def lock_run_dir(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock for the block (a RunDirError if another holds it);
    inside ``keep_lock(run_dir)`` it stays held until that block ends."""
    kept = _kept.get(Path(run_dir).resolve())
    if kept or _inherited(run_dir / LOCK_FILE) is not None:
        yield  # this process holds it already (kept, or inherited from the launcher)
        return
    fd = acquire(run_dir)
    if kept is not None:
        kept.append(fd)  # released when keep_lock's block ends
        yield
        return
    try:
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def keep_lock(run_dir: Path) -> Iterator[None]:
    """Keep the lock that ``lock_run_dir`` takes on ``run_dir`` inside the block until the
    block ends; takes none itself, so nothing is created unless the code inside locks."""
    key = Path(run_dir).resolve()
    if key in _kept:
        yield
        return
    _kept[key] = []
    try:
        yield
    finally:
        for fd in _kept.pop(key):
            os.close(fd)
