"""Multi-worker launcher: ``bigmodel train --workers N`` and ``--cluster HOST:PORT,...``.

``--workers N`` starts N ``bigmodel train`` processes on this machine, each with a
TF_CONFIG naming all of them on free localhost ports (worker 0 is the chief), so they
train one model together under MultiWorkerMirroredStrategy. The chief's output goes to
the terminal, the others' to ``<run_dir>/workers/worker-<i>.log``. When a worker fails or
is killed, the launcher stops the others and exits non-zero: running the same command
again resumes all of them from the chief's last backup. On a CPU-only machine the cores
are divided between the workers (TF_NUM_INTRAOP_THREADS), unless already set.

``--cluster`` prints the command to run on each host of a real cluster instead (the run
directory must then be on storage all hosts share, for the backup). The launcher locks the
run directory (run_lock.py) and the chief inherits the lock, so a second launch on the same
directory is refused at once. No TensorFlow here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bigmodel_tf.errors import ConfigError
from bigmodel_tf.run_lock import INHERITED_LOCK_ENV, acquire
from bigmodel_tf.training.run_dir import WORKERS_DIR
from bigmodel_tf.training.workers import usable_cores

POLL_SECONDS = 0.5
GRACE_SECONDS = 120  # how long the others may finish after the chief exits
STOP_SECONDS = 10  # SIGTERM, then SIGKILL


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that are free on localhost right now."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("localhost", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def parse_hosts(text: str) -> list[str]:
    """``host:port,host:port`` as a list; a malformed entry is a ConfigError."""
    hosts = [h.strip() for h in text.split(",") if h.strip()]
    for host in hosts:
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise ConfigError(f"--cluster: expected HOST:PORT[,HOST:PORT...], got {host!r}")
    if not hosts:
        raise ConfigError("--cluster: expected at least one HOST:PORT")
    return hosts


def tf_config(hosts: list[str], index: int) -> str:
    """The TF_CONFIG of worker ``index`` in a cluster of ``hosts`` (worker 0 is chief)."""
    return json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})


def cluster_commands(train_args: list[str], hosts: list[str]) -> str:
    """Shell commands to start each worker of a real cluster, one per host."""
    lines = []
    for index, host in enumerate(hosts):
        role = "the chief: writes the run directory" if index == 0 else "a worker"
        command = shlex.join(["bigmodel", "train", *train_args])
        lines += [f"# on {host} (worker {index}, {role})",
                  f"TF_CONFIG={shlex.quote(tf_config(hosts, index))} {command}"]
    return "\n".join(lines)


def _worker_env(hosts: list[str], index: int, lock_fd: int) -> dict:
    """The environment of local worker ``index``: TF_CONFIG, a share of the cores, and
    for the chief, the run directory's lock that it inherits."""
    env = dict(os.environ, TF_CONFIG=tf_config(hosts, index))
    if index == 0:
        env[INHERITED_LOCK_ENV] = str(lock_fd)
    cores = usable_cores()
    env.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, cores // len(hosts))))
    return env


def _stop(processes: list[subprocess.Popen]) -> None:
    """Terminate the workers still running (SIGTERM, then SIGKILL)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _describe_exit(code: int) -> str:
    """``status 1`` or ``signal 9 (SIGKILL)``."""
    if code < 0:
        return f"signal {-code} ({signal.Signals(-code).name})"
    return f"status {code}"


def _supervise(processes: list[subprocess.Popen]) -> int:
    """Wait for all workers; stop the rest when one fails or the chief is long done."""
    chief_done = None
    while True:
        codes = [p.poll() for p in processes]
        failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
        if failed:
            index, code = failed[0]
            _stop(processes)
            print(f"bigmodel: error: worker {index} exited with {_describe_exit(code)}; "
                  "stopped the other workers. Run the same command again to resume from "
                  "the last backup.", file=sys.stderr)
            return code if code > 0 else 1
        if all(c == 0 for c in codes):
            return 0
        if codes[0] == 0:
            chief_done = chief_done or time.monotonic()
            if time.monotonic() - chief_done > GRACE_SECONDS:
                _stop(processes)
                print("bigmodel: warning: the chief finished; stopped workers that did not",
                      file=sys.stderr)
                return 0
        time.sleep(POLL_SECONDS)


def launch_local(train_args: list[str], workers: int, run_dir: Path) -> int:
    """Run ``bigmodel train train_args`` as ``workers`` local processes; their exit status."""
    if os.environ.get("TF_CONFIG"):
        raise ConfigError("--workers: TF_CONFIG is already set; unset it, or run the "
                          "per-worker commands of --cluster yourself")
    hosts = [f"localhost:{port}" for port in free_ports(workers)]
    lock_fd = acquire(run_dir)  # released when this process ends; the chief shares it
    logs = run_dir / WORKERS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "bigmodel_tf.cli", "train", *train_args]
    processes: list[subprocess.Popen] = []
    with contextlib.ExitStack() as files:
        files.callback(os.close, lock_fd)
        try:
            for index in range(workers):
                log = logs / f"worker-{index}.log"
                output = files.enter_context(log.open("w")) if index else None
                processes.append(subprocess.Popen(
                    command, env=_worker_env(hosts, index, lock_fd), stdout=output,
                    stderr=subprocess.STDOUT if output else None,
                    pass_fds=() if index else (lock_fd,),
                ))
                where = f"log {log}" if index else "the chief"
                print(f"bigmodel: worker {index} on {hosts[index]}, pid {processes[-1].pid}, "
                      f"{where}", file=sys.stderr, flush=True)
            return _supervise(processes)
        except BaseException:
            _stop(processes)
            raise
