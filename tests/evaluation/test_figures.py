"""Every figure has labelled axes, a title and (where lines or bars need one) a legend."""

import numpy as np
import pytest

from bigmodel_tf.evaluation import figures_training as ft
from bigmodel_tf.plots import save_figure
from bigmodel_tf.tasks.classification import figures as fm
from bigmodel_tf.tasks.classification.calibration import reliability_bins
from bigmodel_tf.tasks.classification.threshold import threshold_curve


def assert_readable(fig, tmp_path, legend=True):
    """Each data axis has x/y labels and a title (or the figure a suptitle); PNG written."""
    data_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    for ax in data_axes:
        if ax.images and not ax.get_xlabel():  # image grids are labelled by their titles
            continue
        shared = ax.get_shared_x_axes().get_siblings(ax)  # stacked panels share one x label
        assert any(a.get_xlabel() for a in shared) and ax.get_ylabel(), ax
    assert any(ax.get_title() for ax in data_axes) or fig.get_suptitle()
    if legend:
        assert any(ax.get_legend() is not None for ax in data_axes)
    path = save_figure(fig, tmp_path / "figure.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    logits = rng.normal(size=(200, 3)) + 2 * np.eye(3)[y]
    return y, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_prediction_figures(predictions, tmp_path):
    y, probs = predictions
    names = ["cat", "dog", "a very long class name indeed"]
    matrix = np.bincount(y * 3 + probs.argmax(1), minlength=9).reshape(3, 3).tolist()
    assert_readable(fm.confusion_matrix_figure(matrix, names, "test"), tmp_path, legend=False)
    assert_readable(fm.roc_figure(y, probs, names, "test"), tmp_path)
    assert_readable(fm.pr_figure(y, probs, names, "test"), tmp_path)
    bins = reliability_bins(y, probs, 10)
    assert_readable(fm.reliability_figure(bins, 0.05, "test"), tmp_path)


def test_binary_figures(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 300), 0, 1)
    probs = np.stack([1 - p, p], axis=1)
    roc = fm.roc_figure(y, probs, ["benign", "malignant"], "test", positive=1)
    assert "malignant" in roc.axes[0].get_legend().get_texts()[0].get_text()
    assert_readable(roc, tmp_path)
    curve = threshold_curve(y, p)
    assert_readable(fm.threshold_figure(curve, 0.41, 0.5, "f1", "malignant"), tmp_path)


def test_training_figures(tmp_path):
    history = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.8], "accuracy": [0.6, 0.8, 0.9],
               "val_accuracy": [0.55, 0.75, 0.74], "learning_rate": [1e-3, 5e-4, 2.5e-4]}
    fig = ft.learning_curves_figure(history, "overfit")
    assert len(fig.axes) == 3  # the varying learning rate gets its own panel
    assert_readable(fig, tmp_path)
    split = {"accuracy": 0.9, "f1_macro": 0.88, "roc_auc": 0.97}
    points = [{"fraction": f, "train_examples": n, "train": split, "val": split, "test": split}
              for f, n in ((0.25, 100), (0.5, 200), (1.0, 400))]
    assert_readable(ft.data_size_figure(points), tmp_path)
    counts = {s: {"a": 10, "b": 30} for s in ("train", "val", "test")}
    assert_readable(fm.class_balance_figure(counts, ["a", "b"]), tmp_path)
    rows = [{"name": "this network", "test": split}, {"name": "svm", "test": split}]
    assert_readable(ft.baselines_figure(rows), tmp_path)
    folds = [{"val": split, "test": split}, {"val": split, "test": split}]
    assert_readable(ft.cv_figure(folds), tmp_path)
