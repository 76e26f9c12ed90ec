"""Config input is bounded before it is parsed further: a file larger than MAX_YAML_BYTES,
an endless stream and a "billion laughs" graph of nested aliases each end in one line and
exit 2, in a process whose address space is capped so that a regression fails instead of
eating the machine."""

import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.config.loader import MAX_YAML_BYTES, MAX_YAML_NODES
from bigmodel_tf.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 2 << 30  # bytes; the CLI reads its config before importing TensorFlow


def laughs(levels: int = 9, width: int = 10) -> str:
    """Nested aliases under tune.space: width**levels values, about 10**9 by default."""
    lines = ["tune:", "  space:", "    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_capped(*args: str) -> subprocess.CompletedProcess:
    """``bigmodel ARGS`` in a fresh process with its address space capped."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bigmodel_tf.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=_cap_memory)


def assert_one_line(proc, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("bigmodel: error: ")
    assert fragment in proc.stderr.strip().splitlines()[-1]


def test_a_billion_laughs_file_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs())
    proc = run_capped("train", "--config", str(path), "--run-dir", str(tmp_path / "run"))
    assert_one_line(proc, f"--config {path}: more than {MAX_YAML_NODES} YAML values once "
                          "its aliases are expanded")
    assert not (tmp_path / "run").exists()


def test_dev_zero_is_refused_after_reading_the_limit():
    proc = run_capped("train", "--config", "/dev/zero")
    assert_one_line(proc, "--config /dev/zero: larger than 1 MiB")


def test_an_endless_pipe_stops_at_the_limit(tmp_path):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    stop = threading.Event()

    def feed():
        with open(fifo, "wb") as out:  # blocks until the CLI opens it
            try:
                while not stop.is_set():
                    out.write(b"# comment\n" * 1000)
            except BrokenPipeError:  # the CLI closed its end
                pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        proc = run_capped("train", "--config", str(fifo))
    finally:
        stop.set()
    assert_one_line(proc, f"--config {fifo}: larger than 1 MiB")
    writer.join(timeout=30)
    assert not writer.is_alive()


def test_the_size_limit_is_exact(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"seed: 1\n" + b"#" * (MAX_YAML_BYTES - 9) + b"\n")
    assert load_config(path).seed == 1  # exactly MAX_YAML_BYTES
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        load_config(path)


@pytest.mark.parametrize(("text", "ok"), [
    (laughs(levels=4, width=10), False),  # 10,000 lols and the lists that hold them
    (laughs(levels=3, width=10), True),  # 1,111 values: an anchor reused is still fine
    ("train: &a [*a]\n", False),  # recursive: expands without end
    ("base: &b {epochs: 2}\ntrain:\n  <<: *b\n", True),
], ids=["11111-values", "1111-values", "recursive", "merge-key"])
def test_aliases_are_counted_expanded(tmp_path, text, ok):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    expanded = "YAML values once its aliases are expanded"
    if not ok:
        with pytest.raises(ConfigError, match=expanded):
            load_config(path)
        return
    try:
        load_config(path)
    except ConfigError as exc:  # another key may be wrong, but not the size
        assert expanded not in str(exc)


def test_set_values_are_bounded_the_same_way():
    nested = "[&a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], " + ", ".join(
        f"&a{i} [{', '.join(['*a' if i == 1 else f'*a{i - 1}'] * 10)}]" for i in range(1, 5)) + "]"
    with pytest.raises(ConfigError, match=r"^--set data.image_size: more than 10000 YAML"):
        load_config(overrides=[f"data.image_size={nested}"])
    with pytest.raises(ConfigError, match=r"^--set data.image_size: larger than 1 MiB"):
        load_config(overrides=["data.image_size=[" + "1," * MAX_YAML_BYTES + "1]"])
