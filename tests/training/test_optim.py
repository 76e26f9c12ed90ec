"""Optimizers and learning-rate schedules built from the config."""

import keras
import numpy as np
import pytest

from bigmodel_tf.config import load_config
from bigmodel_tf.training.optim import build_optimizer, learning_rate_schedule


def lr_at(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_constant_rate_is_a_float():
    assert learning_rate_schedule(load_config(None, ["train.learning_rate=0.01"]).train, 10) == 0.01


def test_exponential_decays_once_per_epoch():
    cfg = load_config(None, ["train.schedule=exponential", "train.decay_rate=0.5"])
    schedule = learning_rate_schedule(cfg.train, steps_per_epoch=10)
    assert lr_at(schedule, 0) == pytest.approx(1e-3)
    assert lr_at(schedule, 20) == pytest.approx(0.25e-3)


def test_cosine_warms_up_then_decays_to_zero():
    cfg = load_config(None, ["train.schedule=cosine", "train.warmup_epochs=2",
                             "train.epochs=10", "train.learning_rate=0.1"])
    schedule = learning_rate_schedule(cfg.train, steps_per_epoch=10)
    assert lr_at(schedule, 0) == pytest.approx(0.0)
    assert lr_at(schedule, 10) == pytest.approx(0.05)
    assert lr_at(schedule, 20) == pytest.approx(0.1)
    assert lr_at(schedule, 100) == pytest.approx(0.0, abs=1e-6)


def test_piecewise_multiplies_after_each_boundary():
    cfg = load_config(None, ["train.schedule=piecewise", "train.piecewise_epochs=[2,4]",
                             "train.piecewise_factors=[0.1,0.01]"])
    schedule = learning_rate_schedule(cfg.train, steps_per_epoch=5)
    assert [lr_at(schedule, s) for s in (0, 11, 21)] == pytest.approx([1e-3, 1e-4, 1e-5])


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [
        (["train.optimizer=adam"], keras.optimizers.Adam),
        (["train.optimizer=adamw", "train.weight_decay=0.01"], keras.optimizers.AdamW),
        (["train.optimizer=sgd", "train.nesterov=true"], keras.optimizers.SGD),
        (["runtime.mixed_precision=mixed_float16"], keras.optimizers.LossScaleOptimizer),
    ],
)
def test_optimizer_kinds(overrides, kind):
    cfg = load_config(None, overrides)
    assert isinstance(build_optimizer(cfg.train, cfg.runtime, 10), kind)


def test_the_rate_is_scaled_for_the_replicas_it_is_given():
    cfg = load_config(None, ["runtime.lr_scaling=linear", "train.learning_rate=0.01"])
    rate = build_optimizer(cfg.train, cfg.runtime, 10, replicas=4).learning_rate
    assert float(keras.ops.convert_to_numpy(rate)) == pytest.approx(0.04)


def test_clipping_accumulation_and_ema_reach_keras():
    cfg = load_config(None, ["train.global_clipnorm=1.0", "train.gradient_accumulation_steps=4",
                             "train.ema=true", "train.optimizer=sgd", "train.momentum=0.5"])
    opt = build_optimizer(cfg.train, cfg.runtime, 10)
    assert opt.global_clipnorm == 1.0 and opt.gradient_accumulation_steps == 4
    assert opt.use_ema and opt.momentum == 0.5


def test_gradient_accumulation_matches_a_larger_batch():
    """k accumulated batches of size b make the same SGD update as one batch of k*b."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")

    def trained(batch_size, steps):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1, gradient_accumulation_steps=steps or None), "mse")
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        return model.get_weights()

    for a, b in zip(trained(2, 4), trained(8, 0), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
