"""Shared test set-up: quiet TensorFlow logs, a fixed seed for every test, and the grouping
that lets pytest-xdist spread the suite over the cores without building a fixture twice."""

import os
import random

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


SHARED_SCOPES = ("module", "package", "session")


def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup`` (pyproject.toml), tests that use a module- or
    session-scoped fixture of this suite run in one worker, so that fixture (a trained run,
    a compressed model) is built once; every other test goes to whichever worker is free."""
    for item in items:
        homes = sorted({
            definition.baseid
            for definitions in item._fixtureinfo.name2fixturedefs.values()
            for definition in definitions[-1:]
            if definition.scope in SHARED_SCOPES and definition.baseid  # "" = pytest's own
        })
        if homes:
            item.add_marker(pytest.mark.xdist_group(homes[0]))
