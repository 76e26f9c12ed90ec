"""Output folders (bigmodel_tf/io.py): a SIGKILL before any filesystem step of a publish
leaves the complete old or the complete new result in place, the next publish removes what
the killed one left (and nothing of a user's), and a folder that a command did not make is
refused."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from bigmodel_tf.errors import RunDirError
from bigmodel_tf.io import (
    OWNER_MARKER,
    atomic_write,
    check_replaceable,
    claim_dir,
    publish_dir,
    staging_dir,
)

FILES = ("a.txt", "sub/b.txt")
# The filesystem calls of staging and publishing; the probe kills before the n-th of them.
STEPS = ("mkdir", "replace", "rename", "symlink", "unlink", "rmdir", "fsync")
PROBE = textwrap.dedent(f"""
    import os, signal, sys
    from pathlib import Path
    from bigmodel_tf import io

    final, content, kill_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    steps = 0

    def counted(function):
        def step(*args, **kwargs):
            global steps
            if steps == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            steps += 1
            return function(*args, **kwargs)
        return step

    for name in {STEPS!r}:
        setattr(os, name, counted(getattr(os, name)))
    if content == "claim":
        io.claim_dir(final, "test")
    else:
        with io.staging_dir(final, "test") as staged:
            for name in {FILES!r}:
                (staged / name).parent.mkdir(exist_ok=True)
                (staged / name).write_text(content)
            io.publish_dir(staged, final)
    print(steps)
""")


def publish(final, content: str, kill_at: int = -1) -> subprocess.CompletedProcess:
    """Publish FILES holding ``content`` at ``final`` (with "claim": claim_dir ``final``) in
    a new process, killed before filesystem step ``kill_at`` (-1: never)."""
    return subprocess.run([sys.executable, "-c", PROBE, str(final), content, str(kill_at)],
                          capture_output=True, text=True, timeout=60)


def result(final) -> str:
    """The content of the complete result at ``final``; fails on a partial one."""
    found = sorted(p.relative_to(final).as_posix() for p in final.rglob("*")
                   if p.is_file() and p.name != OWNER_MARKER)
    assert found == sorted(FILES), found
    (content,) = {(final / name).read_text() for name in FILES}
    return content


def dead_pid() -> int:
    """The id of a process that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.fixture
def old_result(tmp_path):
    """A folder holding a published result "old" (by a process that has exited), a user's
    folder named like a version but without the marker, and the steps of a publish over
    that result."""
    parent = tmp_path / "template"
    assert publish(parent / "result", "old").returncode == 0
    user = parent / f".result-{dead_pid()}-0123abcd"
    user.mkdir()
    (user / "mine.txt").write_text("mine")
    counting = shutil.copytree(parent, tmp_path / "count", symlinks=True)
    done = publish(counting / "result", "new")
    assert done.returncode == 0, done.stderr
    return parent, user.name, int(done.stdout)


def test_a_kill_at_every_step_leaves_a_complete_result_and_the_next_run_cleans_up(
        tmp_path, old_result):
    template, user, steps = old_result
    assert steps >= 15  # staging, marker, writes, fsyncs, link, swap, removal of the old
    seen = set()
    for kill_at in range(steps):
        parent = shutil.copytree(template, tmp_path / str(kill_at), symlinks=True)
        final = parent / "result"
        killed = publish(final, "new", kill_at)
        assert killed.returncode == -9, (kill_at, killed.stderr[-2000:])
        seen.add(result(final))  # the complete old or the complete new result
        done = publish(final, "third")  # the next run
        assert done.returncode == 0, done.stderr[-2000:]
        assert result(final) == "third"
        left = sorted(p.name for p in parent.iterdir())
        assert left == sorted([user, "result", os.readlink(final)]), (kill_at, left)
        assert (parent / user / "mine.txt").read_text() == "mine"
    assert seen == {"old", "new"}  # the probe killed on both sides of the swap


def test_a_kill_at_every_step_of_claiming_a_folder_leaves_it_claimable(tmp_path):
    counted = publish(tmp_path / "count" / "out", "claim")
    assert counted.returncode == 0, counted.stderr
    steps = int(counted.stdout)
    assert steps >= 3  # the folders, the marker's fsync and rename, the folder's fsync
    for kill_at in range(steps):
        out = tmp_path / str(kill_at) / "out"
        assert publish(out, "claim", kill_at).returncode == -9
        claim_dir(out, "test")  # the same command again takes it
        assert json.loads((out / OWNER_MARKER).read_text()) == {"kind": "test"}
        with pytest.raises(RunDirError, match="not made by bigmodel other"):
            claim_dir(out, "other")


def test_a_failure_after_the_first_of_two_publishes_keeps_it_and_removes_the_other(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert publish(second, "old").returncode == 0
    with pytest.raises(RuntimeError), staging_dir(first, "test") as a, \
            staging_dir(second, "test") as b:
        for staged in (a, b):
            (staged / "sub").mkdir()
            for name in FILES:
                (staged / name).write_text("new")
        publish_dir(a, first)
        raise RuntimeError("failed between the two publishes")
    assert result(first) == "new" and result(second) == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["first", "second", os.readlink(first), os.readlink(second)])


def test_a_file_added_to_a_published_folder_is_refused_by_name_and_kept(tmp_path):
    final = tmp_path / "result"
    assert publish(final, "old").returncode == 0
    (final / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match=r"result/notes.txt: was not written by bigmodel "
                                          r"test; move it out of .*result"):
        check_replaceable(final, "test")
    with pytest.raises(RunDirError, match="notes.txt: was not written"), \
            staging_dir(final, "test") as staged:
        publish_dir(staged, final)  # checked again at the swap
    assert (final / "notes.txt").read_text() == "mine"
    assert (final / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["result", os.readlink(final)])


@pytest.mark.parametrize("maker", ["another command", "a user"])
def test_a_folder_not_published_by_the_command_is_refused(tmp_path, maker):
    final = tmp_path / "result"
    if maker == "another command":  # its kind is "test"
        assert publish(final, "old").returncode == 0
    else:
        final.mkdir()
        (final / "a.txt").write_text("mine")
    with pytest.raises(RunDirError, match="result: exists and was not made by bigmodel "
                                          "compress; choose a new or empty folder"):
        check_replaceable(final, "compress")


def test_claim_dir_takes_new_empty_and_own_folders_only(tmp_path):
    assert claim_dir(tmp_path / "new" / "out", "evaluate").is_dir()
    assert claim_dir(tmp_path / "new" / "out", "evaluate") == tmp_path / "new" / "out"
    (tmp_path / "empty").mkdir()
    claim_dir(tmp_path / "empty", "benchmark")
    assert json.loads((tmp_path / "empty" / OWNER_MARKER).read_text()) == {"kind": "benchmark"}
    (tmp_path / "user").mkdir()
    atomic_write(tmp_path / "user" / "notes.txt", "mine")
    atomic_write(tmp_path / "file", b"mine")
    for path, kind in [(tmp_path / "new" / "out", "benchmark"), (tmp_path / "user", "evaluate"),
                       (tmp_path / "file", "evaluate")]:
        with pytest.raises(RunDirError, match=f"{path}: exists and was not made by bigmodel "
                                              f"{kind}; choose a new or empty folder"):
            claim_dir(path, kind)
    assert (tmp_path / "user" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "user").iterdir()) == ["notes.txt"]
