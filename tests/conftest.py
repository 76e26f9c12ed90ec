"""Shared test set-up: quiet TensorFlow logs, a fixed seed for every test, the default
experiment's run (trained once, used by several test folders), and the grouping that lets
pytest-xdist spread the suite over the cores without building a fixture twice."""

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seed Python, NumPy and Keras (TensorFlow) so every test is reproducible."""
    random.seed(0)
    np.random.seed(0)
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")


class DefaultRun(NamedTuple):
    """``python scripts/train.py`` with no arguments, as a user first runs it."""

    cwd: Path  # where it ran: runs/<run>/ and saved_models/digits_cnn/1/ are in it
    run_dir: Path
    proc: subprocess.CompletedProcess
    seconds: float


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> DefaultRun:
    """The default experiment (a CNN on digits), trained once per session in a fresh
    process: tests/training checks the run, tests/compression compresses a copy of it."""
    cwd = tmp_path_factory.mktemp("default_run")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "scripts/train.py")],
                          cwd=cwd, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (cwd / "runs").iterdir()
    return DefaultRun(cwd, run_dir, proc, seconds)


SHARED_SCOPES = ("module", "package", "session")


def _shared_fixtures(item) -> list[str]:
    """The module-, package- or session-scoped fixtures of this suite that ``item`` uses."""
    return sorted(
        f"{definition.baseid}::{definition.argname}"
        for definitions in item._fixtureinfo.name2fixturedefs.values()
        for definition in definitions[-1:]
        if definition.scope in SHARED_SCOPES and definition.baseid  # "" = pytest's own
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into node ids
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup`` (pyproject.toml), tests linked by a shared fixture (a
    trained run, a compressed model), directly or through other tests, run in one worker,
    so each such fixture is built once; every other test goes to whichever worker is free.

    Slow tests are collected first: pytest-xdist hands out work in collection order (after
    the shared-fixture groups, largest first), so the long end-to-end runs start early and
    the many short tests fill the gaps instead of a long test starting last on one core."""
    parent: dict[str, str] = {}

    def root(fixture: str) -> str:
        while parent.setdefault(fixture, fixture) != fixture:
            fixture = parent[fixture]
        return fixture

    uses = {item.nodeid: _shared_fixtures(item) for item in items}
    for fixtures in uses.values():
        for other in fixtures[1:]:
            parent[root(other)] = root(fixtures[0])
    for item in items:
        if uses[item.nodeid]:
            item.add_marker(pytest.mark.xdist_group(root(uses[item.nodeid][0])))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
