"""Interpretation: permutation importance, integrated gradients, attention maps, structure."""

import keras
import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.evaluation.interpret import attention, gradients, permutation
from bigmodel_tf.evaluation.interpret.structure import model_structure
from bigmodel_tf.models import build_model
from bigmodel_tf.plots import save_figure
from bigmodel_tf.tasks import get_task

CLASSIFICATION = get_task("classification")
IMAGE_SPEC = DataSpec("image", [8, 8, 1], [str(i) for i in range(3)], mean=[5.0],
                      variance=[30.0], value_range=[0.0, 16.0])


def test_permutation_importance_finds_the_only_feature_that_matters(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.layers[-1].set_weights([np.array([[-4.0, 4.0], [0, 0], [0, 0]]), np.zeros(2)])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)).astype("float32")
    y = (x[:, 0] > 0).astype(int)
    result = permutation.permutation_importance(model, x, y, ["signal", "n1", "n2"],
                                                CLASSIFICATION, repeats=4)
    assert result["loss_increase_mean"][0] > 1.0
    assert result["accuracy_drop_mean"][0] > 0.3
    assert result["loss_increase_mean"][1:] == [0.0, 0.0]  # ignored features change nothing
    assert permutation.ranking(result)[0] == 0
    again = permutation.permutation_importance(model, x, y, ["signal", "n1", "n2"],
                                                CLASSIFICATION, repeats=4)
    assert again == result  # seeded
    fig = permutation.importance_figure(result, "test")
    assert "signal" in [t.get_text() for t in fig.axes[0].get_yticklabels()]
    save_figure(fig, tmp_path / "importance.png")


def test_integrated_gradients_are_complete():
    cfg = load_config(None, ["model.name=mlp", "model.normalization=none", "model.dropout=0"])
    model = build_model(cfg.model, IMAGE_SPEC)
    images = np.random.default_rng(0).uniform(0, 16, size=(3, 8, 8, 1)).astype("float32")
    probs = model.predict(images, verbose=0)
    targets = probs.argmax(axis=1)
    maps = gradients.integrated_gradients(model, images, targets, baseline=0.0, steps=128)
    assert maps.shape == images.shape
    start = model.predict(np.zeros_like(images), verbose=0)
    gain = probs[np.arange(3), targets] - start[np.arange(3), targets]
    np.testing.assert_allclose(maps.reshape(3, -1).sum(axis=1), gain, atol=0.02)
    fig = gradients.attribution_figure(images, maps, ["a", "b", "c"], [0.0, 16.0])
    assert fig.get_suptitle().startswith("Integrated gradients")


def test_pick_examples_cycles_over_classes():
    y = np.array([2, 2, 0, 1, 0, 2, 1])
    assert gradients.pick_examples(y, 4).tolist() == [2, 3, 0, 4]


def test_attention_maps_of_an_image_transformer(tmp_path):
    cfg = load_config(None, ["model.name=transformer", "model.width=16", "model.depth=2",
                             "model.num_heads=2", "model.patch_size=2"])
    model = build_model(cfg.model, IMAGE_SPEC)
    x = np.random.default_rng(0).uniform(0, 16, size=(2, 8, 8, 1)).astype("float32")
    scores = attention.attention_scores(model, cfg.model, IMAGE_SPEC, x)
    assert [s.shape for s in scores] == [(2, 2, 16, 16)] * 2
    np.testing.assert_allclose(scores[0].sum(axis=-1), 1.0, atol=1e-5)  # softmax rows
    maps = attention.received_attention(scores[0][0], (4, 4), 2)
    assert maps.shape == (2, 8, 8)
    fig = attention.image_attention_figure(x[0], [s[0] for s in scores], 2, "example",
                                           [0.0, 16.0])
    assert len(fig.axes) == 2 * 3 + 1  # layers x (input + heads), plus the colorbar
    save_figure(fig, tmp_path / "attention.png")


def test_attention_maps_between_feature_tokens(tmp_path):
    spec = DataSpec("tabular", [4], ["no", "yes"], feature_names=["a", "b", "c", "d"],
                    mean=[0.0] * 4, variance=[1.0] * 4)
    cfg = load_config(None, ["model.name=transformer", "model.width=8", "model.depth=1",
                             "model.num_heads=2", "model.share_weights=true"])
    model = build_model(cfg.model, spec)
    scores = attention.attention_scores(model, cfg.model, spec, np.ones((5, 4), "float32"))
    assert [s.shape for s in scores] == [(5, 2, 4, 4)]
    fig = attention.feature_attention_figure(scores, spec.feature_names)
    save_figure(fig, tmp_path / "features.png")


def test_structure_graph_and_text_fallback(tmp_path, monkeypatch):
    model = build_model(load_config(None, ["model.name=mlp"]).model, IMAGE_SPEC)
    result = model_structure(model, tmp_path / "plots", tmp_path)
    assert result["image"] == "plots/model.png" and (tmp_path / "plots/model.png").exists()
    assert "dense_0" in (tmp_path / "model_summary.txt").read_text()

    def no_graphviz(*args, **kwargs):
        raise ImportError("You must install graphviz")

    monkeypatch.setattr(keras.utils, "plot_model", no_graphviz)
    result = model_structure(model, tmp_path / "other", tmp_path)
    assert result["image"] is None and "graphviz" in result["reason"]


@pytest.mark.parametrize("kind", ["image", "tabular"])
def test_display_image_scales_to_unit_range(kind):
    image = np.full((4, 4, 1 if kind == "image" else 3), 8.0)
    shown = gradients.display_image(image, [0.0, 16.0])
    assert shown.max() == pytest.approx(0.5)
