"""A worker's role in a multi-worker run, read from TF_CONFIG.

Reads the ``TF_CONFIG`` environment variable (no TensorFlow needed, so the launcher and
the doctor can use it too). Worker 0 (or the ``chief`` task, when the cluster has one) is
the chief: it writes the run directory. The other workers train in lockstep with it and
write their own copies under ``<run_dir>/workers/worker-<i>/`` (placed there by the
experiments layer: experiments/workers.py). All workers restore from the chief's
backup (callbacks.py), so after a crash they resume from the same epoch with the same
weights.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bigmodel_tf.errors import ConfigError


@dataclass(frozen=True)
class WorkerRole:
    """This process's task in the cluster described by TF_CONFIG."""

    task_type: str  # "worker" or "chief"
    index: int
    num_workers: int  # all training tasks: chief + workers
    is_chief: bool  # the task that writes the run directory

    @property
    def name(self) -> str:
        """``chief`` or ``worker-<i>``: used in directory names and logs."""
        return "chief" if self.task_type == "chief" else f"worker-{self.index}"


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def read_tf_config(env) -> dict:
    """TF_CONFIG parsed; a malformed value is a ConfigError naming what is expected."""
    text = env.get("TF_CONFIG", "")
    try:
        tf_config = json.loads(text)
        cluster, task = tf_config["cluster"], tf_config["task"]
        task["type"], int(task["index"])
        workers = list(cluster.get("worker", [])) + list(cluster.get("chief", []))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(
            "TF_CONFIG: expected JSON like {\"cluster\": {\"worker\": [\"host:port\", ...]}, "
            f"\"task\": {{\"type\": \"worker\", \"index\": 0}}}}, got {text[:200]!r}"
        ) from None
    if not workers:
        raise ConfigError("TF_CONFIG: the cluster lists no worker or chief addresses")
    return tf_config


def worker_role(env=None) -> WorkerRole | None:
    """This process's role, or None when TF_CONFIG is not set (a single-process run)."""
    env = os.environ if env is None else env
    if not env.get("TF_CONFIG"):
        return None
    tf_config = read_tf_config(env)
    cluster, task = tf_config["cluster"], tf_config["task"]
    count = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    task_type, index = task["type"], int(task["index"])
    # Without a chief job, worker 0 is the chief (MultiWorkerMirroredStrategy's rule).
    chief = task_type == "chief" or (task_type == "worker" and index == 0
                                     and not cluster.get("chief"))
    return WorkerRole(task_type, index, count, chief)


def chief_run_dir(run_dir: Path) -> Path:
    """The chief's run directory, given the directory this worker writes."""
    role = worker_role()
    return run_dir.parents[1] if role is not None and not role.is_chief else run_dir
