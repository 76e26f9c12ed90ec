"""Nothing the tool starts listens beyond localhost by default, and the Docker image runs as
a non-root user."""

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]
EXPOSING = re.compile(r"--bind_all|--host[ =]+(0\.0\.0\.0|::|\[::\])|\b0\.0\.0\.0\b|\[::\]")


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net shows them) of sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # 0A = LISTEN
                found.add(address)
    return found


def test_no_code_or_docs_expose_a_server_on_all_interfaces():
    texts = [ROOT / "README.md", ROOT / "Dockerfile", *ROOT.glob("docker/*"),
             *(ROOT / "bigmodel_tf").rglob("*.py"), *(ROOT / "scripts").rglob("*.py")]
    offending = [f"{path.relative_to(ROOT)}: {m.group(0)}" for path in texts if path.is_file()
                 for m in EXPOSING.finditer(path.read_text(encoding="utf-8"))]
    assert offending == []
    documented = re.findall(r"tensorboard --logdir[^`\n]*", (ROOT / "README.md").read_text())
    assert documented and all("--host 127.0.0.1" in line for line in documented)


def test_tensorboard_started_without_host_listens_on_loopback_only(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path),
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not _listening_addresses(port) and time.time() < deadline:
            assert process.poll() is None, "tensorboard exited"
            time.sleep(0.5)
        loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
        assert _listening_addresses(port) and _listening_addresses(port) <= loopback
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_docker_image_runs_as_a_non_root_user():
    dockerfiles = [p for p in [ROOT / "Dockerfile", *ROOT.rglob("docker/*Dockerfile*")]
                   if p.is_file()]
    assert dockerfiles
    for path in dockerfiles:
        lines = [line.strip() for line in path.read_text().splitlines()]
        stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")):]
        users = [line.split()[1] for line in stage if line.startswith("USER ")]
        assert users, f"{path}: the final stage has no USER (it would run as root)"
        assert users[-1].split(":")[0] not in ("root", "0"), f"{path}: runs as {users[-1]}"
