"""Pruning with TF-MOT: schedule steps, per-layer sparsity == target, M:N, clear errors."""

import numpy as np
import pytest

from bigmodel_tf.compression.bridge import float32_copy, to_tf_keras
from bigmodel_tf.compression.finetune import FinetuneInputs
from bigmodel_tf.compression.pruning import prune, schedule_steps
from bigmodel_tf.config import CompressionConfig
from bigmodel_tf.data import load_splits
from bigmodel_tf.errors import CompressionError

SMALL_CNN = ("model.name=cnn", "model.width=8", "compression.finetune_epochs=2",
             "compression.frequency=4")


def test_schedule_ends_on_a_mask_update_within_fine_tuning():
    """Default end: a quarter of the steps, moved to the next multiple of the frequency."""
    c = CompressionConfig(frequency=10)
    assert schedule_steps(c, 380) == (0, 100)
    assert schedule_steps(CompressionConfig(begin_step=5, end_step=20, frequency=10), 100) == (
        5, 25)
    assert schedule_steps(CompressionConfig(schedule="constant", begin_step=3), 50) == (3, -1)


@pytest.mark.parametrize(("kwargs", "total", "key"), [
    ({"begin_step": 50}, 40, "compression.begin_step"),
    ({"end_step": 95}, 90, "compression.end_step"),
])
def test_schedule_outside_fine_tuning_is_refused(kwargs, total, key):
    """A schedule that would not reach its target within the fine-tuning names the key."""
    with pytest.raises(CompressionError, match=key):
        schedule_steps(CompressionConfig(**kwargs), total)


def finetune_inputs(cfg):
    """The fine-tuning inputs of ``cfg``, as ``bigmodel compress`` builds them."""
    return FinetuneInputs(load_splits(cfg), cfg.data, cfg.seed, cfg.train, cfg.task)


def pruned(cfg, small_model, tmp_path):
    """Prune a small model with perturbed weights; return (result, spec, probe inputs)."""
    model, spec, x = small_model(cfg)
    legacy = to_tf_keras(model, cfg.model, spec, x)
    return prune(legacy, cfg.compression, finetune_inputs(cfg), tmp_path / "tb"), spec, x


def test_every_layer_reaches_the_target_sparsity(make_cfg, small_model, tmp_path):
    """Each pruned kernel has the target sparsity (to one weight), also after the copy back."""
    cfg = make_cfg("model.name=mlp", "model.width=8", "compression.target_sparsity=0.7",
                   "compression.finetune_epochs=1", "compression.frequency=4")
    result, spec, x = pruned(cfg, small_model, tmp_path)
    assert set(result.sparsity) == {"dense_0/kernel", "dense_1/kernel", "logits/kernel"}
    for name, entry in result.sparsity.items():
        assert entry["target"] == 0.7
        assert abs(entry["achieved"] - 0.7) <= 1.0 / entry["size"], name
    back = float32_copy(result.model, cfg.model, spec, x)
    kernels = {f"{layer.name}/kernel": layer.kernel.numpy() for layer in back.layers
               if hasattr(layer, "kernel")}
    for name, entry in result.sparsity.items():
        assert np.mean(kernels[name] == 0) == pytest.approx(entry["achieved"])
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*")), "PruningSummaries wrote"


def test_two_of_four_structured_sparsity(make_cfg, small_model, tmp_path):
    """2:4 pruning: every group of 4 consecutive input weights holds at least 2 zeros."""
    cfg = make_cfg("model.name=mlp", "model.width=8", "compression.m_by_n=2:4",
                   "compression.finetune_epochs=1", "compression.frequency=2")
    result, _, _ = pruned(cfg, small_model, tmp_path)
    for name, entry in result.sparsity.items():
        assert entry["achieved"] == pytest.approx(0.5), name
    for layer in result.model.layers:
        if layer.name in ("dense_0", "dense_1", "logits"):
            groups = layer.kernel.numpy().T.reshape(-1, 4)  # [out, in] in groups of 4 inputs
            assert (np.sum(groups == 0, axis=1) >= 2).all(), layer.name


def test_m_by_n_names_the_layer_that_cannot_take_it(make_cfg, small_model, tmp_path):
    """conv_0 sees 1 input channel, so 2:4 cannot apply: the error says to leave it dense."""
    cfg = make_cfg(*SMALL_CNN, "compression.m_by_n=2:4")
    with pytest.raises(CompressionError, match=r"layer conv_0 .*compression\.leave_dense"):
        pruned(cfg, small_model, tmp_path)


@pytest.mark.parametrize(("overrides", "match"), [
    (["compression.xnnpack_policy=true"], r"compression\.xnnpack_policy=false"),
    (["compression.leave_dense=[conv_9]"], r"no layer named conv_9.*conv_0"),
])
def test_impossible_options_are_clear_errors(overrides, match, make_cfg, small_model, tmp_path):
    """The XNNPACK policy on a non-MobileNet model and unknown layer names are refused."""
    cfg = make_cfg(*SMALL_CNN, *overrides)
    with pytest.raises(CompressionError, match=match):
        pruned(cfg, small_model, tmp_path)
