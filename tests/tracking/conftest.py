"""Fixtures of the tracking tests: a local MLflow file store and tiny runs on iris."""

import pytest

from bigmodel_tf.cli import main

TINY = ["data.name=iris", "model.name=mlp", "train.epochs=2", "evaluation.baselines=[]",
        "evaluation.interpret=false", "train.verbose=0", "train.histogram_freq=0"]


def tracked(store, *overrides):
    """--set pairs of a tiny run tracked in the MLflow file store ``store``."""
    return [*TINY, "tracking.backend=mlflow", f"tracking.uri={store}", *overrides]


def train(run_dir, *overrides) -> int:
    """``bigmodel train --run-dir RUN --set ...``: its exit status."""
    return main(["train", "--run-dir", str(run_dir), "--set", *overrides])


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    """(store, run directory) of one tiny training tracked in a file store, exported."""
    root = tmp_path_factory.mktemp("tracked")
    store = root / "mlruns"
    assert train(root / "run", *tracked(store, f"export.dir={root / 'saved_models'}")) == 0
    return store, root / "run"


@pytest.fixture
def client_of():
    """Factory: an MlflowClient on a store folder."""
    from mlflow.tracking import MlflowClient

    return lambda store: MlflowClient(tracking_uri=store.resolve().as_uri())
