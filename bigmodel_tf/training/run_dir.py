"""The run directory: where a run lives, whether it is new, resumable or finished.

Every command writes into ``runs/<run-name>/`` (or ``--run-dir``). The default run name
is derived from the config's hash, so running the same command again finds the same
directory: an unfinished run resumes from its BackupAndRestore backup, a finished one
(``metrics.json`` present) is not retrained, and a directory holding a different config
is refused with the keys that differ in a data, result or evaluation key (a pipeline key,
such as ``data.prefetch`` or ``train.verbose``, may change: the run resumes;
bigmodel_tf.config.effects). Artifacts are written to a temporary path and
renamed into place so that nothing is left half-written.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import yaml

from bigmodel_tf import remote, remote_run
from bigmodel_tf.compat import warm_keras_saving
from bigmodel_tf.config import NOT_RUN_EFFECTS, ExperimentConfig, differences, to_dict
from bigmodel_tf.errors import RunDirError
from bigmodel_tf.io import atomic_file
from bigmodel_tf.run_lock import LOCK_FILE, lock_run_dir

RUNS_ROOT = Path("runs")
WORKERS_DIR = "workers"  # non-chief workers' directories inside a multi-worker run


def resolve_run_dir(name: str, run_dir: str | Path | None = None) -> Path | str:
    """``--run-dir`` if given (a URL stays a string: remote.py), else ``runs/<name>`` (the
    run's ``config.run_name``)."""
    return remote.location(run_dir) if run_dir else RUNS_ROOT / name


def run_state(cfg: ExperimentConfig, run_dir: Path) -> str:
    """``new``, ``resume`` or ``finished``; refuses a directory made by another config."""
    config_file = run_dir / "config.yaml"
    # workers/ holds a multi-worker run's non-chief copies; it may appear before config.yaml,
    # as may the lock file of a start that failed before writing anything.
    if not run_dir.exists() or all(p.name in (WORKERS_DIR, LOCK_FILE) for p in run_dir.iterdir()):
        return "new"
    if not config_file.exists():
        raise RunDirError(
            f"--run-dir {run_dir}: exists and is not a run directory (no config.yaml); "
            "choose a new or empty directory"
        )
    try:
        saved = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        raise RunDirError(f"{config_file}: unreadable; choose a new run directory") from None
    # The keys config_hash leaves out (pipeline, search, none) may differ.
    diffs = differences(saved, to_dict(cfg), ignore=NOT_RUN_EFFECTS)
    if diffs:
        raise RunDirError(
            f"{run_dir}: holds a run with a different config ({'; '.join(diffs[:5])}); "
            "use --force-new-run (the old run is moved aside) or a new --run-dir"
        )
    return "finished" if (run_dir / "metrics.json").exists() else "resume"


def set_aside(run_dir: Path) -> Path | str | None:
    """Move an existing run directory to ``<name>.replaced-<UTC time>`` (--force-new-run).

    Nothing is deleted: the old run stays next to the new one. Returns the new place of
    the old run, or None when there was nothing to move. A run in use by another process
    is not moved (run_lock.py). The working copy of a run at a URL (remote_run.py) moves the
    remote run aside, copied file by file, and stays where it is, empty.
    """
    if not run_dir.exists() or not any(p.name != LOCK_FILE for p in run_dir.iterdir()):
        return None
    with lock_run_dir(run_dir):
        copy = remote_run.copy_rooted_at(run_dir)
        if copy is None:
            target = _aside_name(run_dir)
            os.rename(run_dir, target)
        else:
            target = _aside_name(copy.url)
            copy.move_to(target)
        return target


def _aside_name(run_dir: Path | str) -> Path | str:
    """A free ``<name>.replaced-<UTC time>[-N]`` beside ``run_dir`` (a path or a URL)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = f"{remote.name(run_dir)}.replaced-{stamp}"
    target, suffix = remote.join(remote.parent(run_dir), base), 1
    while remote.exists(target):
        suffix += 1
        target = remote.join(remote.parent(run_dir), f"{base}-{suffix}")
    return target


def save_model(model, path: Path) -> None:
    """Save a Keras model in the .keras format atomically."""
    warm_keras_saving()
    with atomic_file(path) as tmp:
        model.save(str(tmp))

