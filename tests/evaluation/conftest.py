"""Fixtures of the evaluation tests: small real runs trained once per test session.

Each run trains through ``bigmodel train`` in this process on small data, with the
evaluation stage at the end; tests read the run directories (and copy them before
changing anything).
"""

import shutil

import pytest

from bigmodel_tf.cli import main
from tests.evaluation.wine_csv import TRAIN_ROWS, write_wine_csv

QUIET = ["export.enabled=false", "train.verbose=0"]


def train_run(root, name, *overrides, options=()):
    """Train one run with ``bigmodel train [options]`` into root/name; return its directory."""
    args = ["train", *options, "--run-dir", str(root / name), "--set", *QUIET, *overrides]
    assert main(args) == 0
    return root / name


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory):
    """A folder holding every session run (TensorBoard's --logdir in the browser test)."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def digits_run(runs_root):
    """Digits, MLP, 3 epochs: images, multiclass, one baseline, the profiler on."""
    return train_run(runs_root, "digits", "model.name=mlp", "train.epochs=3",
                     "evaluation.baselines=[logistic_regression]",
                     "evaluation.profile_batches=[2,3]", "evaluation.interpret_examples=4")


@pytest.fixture(scope="session")
def breast_cancer_run(runs_root, project_root):
    """Breast cancer (binary, imbalanced): threshold, 3-fold CV, data-size curve, baselines."""
    return train_run(
        runs_root, "breast_cancer", "train.epochs=8", "train.histogram_freq=0",
        "evaluation.positive_class=malignant", "evaluation.data_size_fractions=[0.5]",
        "evaluation.baselines=[logistic_regression,svm]",
        options=["--config", str(project_root / "configs" / "breast_cancer_mlp.yaml"),
                 "--cv", "3"],
    )


@pytest.fixture(scope="session")
def csv_run(runs_root, tmp_path_factory):
    """Wine as a CSV file (string labels, a one-hot column), trained on 130 of its rows."""
    path = write_wine_csv(tmp_path_factory.mktemp("csv") / "wine.csv", rows=TRAIN_ROWS)
    return train_run(runs_root, "csv", "data.name=csv", f"data.path={path}",
                     "data.label=variety", "model.name=mlp", "train.epochs=15",
                     "train.histogram_freq=0", "evaluation.baselines=[logistic_regression]")


@pytest.fixture(scope="session")
def project_root(pytestconfig):
    """The repository root (configs/ lives there)."""
    return pytestconfig.rootpath


@pytest.fixture
def copy_run(tmp_path):
    """Factory: a private copy of a session run that a test may change."""

    def copy(run):
        return shutil.copytree(run, tmp_path / run.name)

    return copy
