"""Optimizer and learning-rate schedule from ``cfg.train``.

All of it is Keras 3's own machinery: the optimizers carry clipping (clipnorm,
global_clipnorm), gradient accumulation and EMA weight averaging as constructor options,
and the schedules are ``keras.optimizers.schedules``. Schedules are defined in epochs in
the config and converted to optimizer steps here.
"""

from __future__ import annotations

import keras


def learning_rate_schedule(cfg, steps_per_epoch: int):
    """The learning rate: a float (constant) or a Keras schedule counted in steps."""
    t = cfg.train
    lr = t.learning_rate
    # With gradient accumulation the optimizer applies one update per k batches.
    steps = max(1, steps_per_epoch // t.gradient_accumulation_steps)
    if t.schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(lr, steps, t.decay_rate)
    if t.schedule == "cosine":
        warmup = t.warmup_epochs * steps
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else lr,
            decay_steps=max(1, t.epochs * steps - warmup),
            warmup_target=lr if warmup else None,
            warmup_steps=warmup,
        )
    if t.schedule == "piecewise":
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries=[e * steps for e in t.piecewise_epochs],
            values=[lr] + [lr * f for f in t.piecewise_factors],
        )
    return lr


def build_optimizer(cfg, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """A Keras optimizer with the configured schedule, clipping, accumulation and EMA."""
    t = cfg.train
    common = {
        "learning_rate": learning_rate_schedule(cfg, steps_per_epoch),
        "clipnorm": t.clipnorm,
        "global_clipnorm": t.global_clipnorm,
        "use_ema": t.ema,
        "ema_momentum": t.ema_momentum,
        "gradient_accumulation_steps": (
            t.gradient_accumulation_steps if t.gradient_accumulation_steps > 1 else None
        ),
    }
    if t.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(momentum=t.momentum, nesterov=t.nesterov, **common)
    elif t.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(weight_decay=t.weight_decay, **common)
    else:
        optimizer = keras.optimizers.Adam(**common)
    if cfg.runtime.mixed_precision == "mixed_float16":
        # float16 gradients underflow without dynamic loss scaling; bfloat16 does not need it.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer applies at its current step."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return float(keras.ops.convert_to_numpy(inner.learning_rate))
