"""Architecture-specific behaviour: shapes, weight sharing, attention maps, config errors."""

import keras
import numpy as np
import pytest
import tf_keras

from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.models import build_model, common, resnet, transformer


def test_mlp_depth_zero_is_softmax_regression(make_cfg, image_spec):
    """Depth 0: flattened normalized pixels straight into the logits (one kernel, one bias)."""
    model = build_model(make_cfg(name="mlp", depth=0), image_spec)
    assert [w.shape for w in model.get_weights()] == [(64, 3), (3,)]


def test_spec_without_statistics_has_no_normalization(make_cfg):
    """Pre-scaled data (no mean/variance in the spec) gets no Normalization layer."""
    spec = DataSpec("tabular", [4], ["a", "b"])
    model = build_model(make_cfg(name="mlp"), spec)
    assert not any(isinstance(layer, keras.layers.Normalization) for layer in model.layers)


def test_cnn_pools_while_the_map_allows_and_doubles_channels(make_cfg, image_spec):
    """On 8x8 images only the first two blocks pool (8->4->2); channels double per pool."""
    model = build_model(make_cfg(name="cnn", depth=4, width=8), image_spec)
    pools = [layer.name for layer in model.layers if "pool" in layer.name]
    assert pools == ["conv_0_pool", "conv_1_pool", "global_pool"]
    assert [model.get_layer(f"conv_{i}").filters for i in range(4)] == [8, 16, 32, 32]


@pytest.mark.parametrize(
    ("depth", "sizes"), [(0, []), (1, [1]), (2, [1, 1]), (3, [1, 1, 1]), (5, [2, 2, 1])]
)
def test_resnet_stage_sizes(depth, sizes):
    """Blocks are spread over at most three stages, earlier stages getting the remainder."""
    assert resnet.stage_sizes(depth) == sizes


def test_resnet_projects_only_where_shapes_change(make_cfg, image_spec):
    """Identity shortcuts inside a stage, 1x1 projections where width or stride changes."""
    model = build_model(make_cfg(name="resnet", depth=4, width=8), image_spec)
    adds = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    projections = [layer.name for layer in model.layers if layer.name.endswith("_proj")]
    assert len(adds) == 4
    assert projections == ["stage1_block0_proj", "stage2_block0_proj"]
    assert model.get_layer("stage2_block0_conv1").strides == (2, 2)


def test_mobilenetv2_is_flat_and_upsamples_small_images(make_cfg, image_spec):
    """Small images are resized to 32x32; the backbone is inlined and uses our BN momentum."""
    model = build_model(make_cfg(name="mobilenetv2", alpha=0.6), image_spec)
    assert tuple(model.get_layer("resize").output.shape[1:]) == (32, 32, 1)
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == common.BN_MOMENTUM for layer in norms)
    big = DataSpec("image", [32, 32, 4], ["a", "b"], mean=[0.0] * 4, variance=[1.0] * 4)
    big_model = build_model(make_cfg(name="mobilenetv2", alpha=0.1), big)
    assert "resize" not in [layer.name for layer in big_model.layers]


def test_shared_transformer_is_smaller(make_cfg, image_spec):
    """ALBERT-style sharing: fewer parameters than unshared, constant in depth."""
    unshared = build_model(make_cfg(name="transformer", depth=3), image_spec)
    shared = build_model(make_cfg(name="transformer", depth=3, share_weights=True), image_spec)
    deeper = build_model(make_cfg(name="transformer", depth=6, share_weights=True), image_spec)
    assert shared.count_params() < unshared.count_params()
    assert deeper.count_params() == shared.count_params()
    assert shared.get_layer("encoder_shared_attention")
    assert unshared.get_layer("encoder_2_attention")


@pytest.mark.parametrize("share_weights", [False, True])
@pytest.mark.parametrize(("kind", "tokens"), [("image", 16), ("tabular", 6)])
def test_attention_maps(
    share_weights, kind, tokens, make_cfg, image_spec, tabular_spec, raw_inputs
):
    """attention_model gives one (batch, heads, tokens, tokens) softmax map per block."""
    spec = image_spec if kind == "image" else tabular_spec
    cfg = make_cfg(name="transformer", depth=2, num_heads=2, share_weights=share_weights)
    model = build_model(cfg, spec)
    maps = transformer.attention_model(model, cfg, spec)(raw_inputs(spec, batch=3))
    assert len(maps) == 2
    for scores in maps:
        assert scores.shape == (3, 2, tokens, tokens)
        np.testing.assert_allclose(np.asarray(scores).sum(axis=-1), 1.0, atol=1e-5)
    assert share_weights or not np.allclose(maps[0], maps[1])


def test_transformer_tf_keras_round_trip_and_bfloat16(make_cfg, image_spec, raw_inputs, tmp_path):
    """The custom layer is registered in tf_keras too and casts itself under bf16 there."""
    cfg = make_cfg(name="transformer", share_weights=True)
    model = build_model(cfg, image_spec, keras=tf_keras)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = tf_keras.models.load_model(path, safe_mode=True)
    x = raw_inputs(image_spec)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    tf_keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        half = build_model(cfg, image_spec, keras=tf_keras)
    finally:
        tf_keras.mixed_precision.set_global_policy("float32")
    assert half.get_layer("position_embedding").compute_dtype == "bfloat16"
    assert half(x).dtype == "float32"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "transformer", "patch_size": 3}, "model.patch_size: expected a divisor"),
        ({"name": "transformer", "depth": 0}, "model.depth: attention maps need"),
        ({"name": "nope"}, "model.name: expected one of mlp, cnn"),
    ],
)
def test_config_errors_on_images(overrides, message, make_cfg, image_spec):
    """Impossible combinations are one-line ConfigErrors naming the key."""
    cfg = make_cfg(**overrides)
    with pytest.raises(ConfigError, match=message):
        model = build_model(cfg, image_spec)
        transformer.attention_model(model, cfg, image_spec)


@pytest.mark.parametrize("name", ["cnn", "resnet", "mobilenetv2"])
def test_image_models_reject_tabular_data(name, make_cfg, tabular_spec):
    """Image-only architectures on tabular data point to the models that fit."""
    with pytest.raises(ConfigError) as info:
        build_model(make_cfg(name=name), tabular_spec)
    assert str(info.value) == f"model.name={name} needs image data; use mlp or transformer"
