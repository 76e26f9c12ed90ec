"""Optimizer and learning-rate schedule from the train section (and the runtime's precision).

All of it is Keras 3's own machinery: the optimizers carry clipping (clipnorm,
global_clipnorm), gradient accumulation and EMA weight averaging as constructor options,
and the schedules are ``keras.optimizers.schedules``. Schedules are defined in epochs in
the config and converted to optimizer steps here; the base rate is scaled for the number
of replicas (given by the caller, never read from the ambient strategy) by
``runtime.lr_scaling``.
"""

from __future__ import annotations

import math

import keras

from bigmodel_tf.config import RuntimeConfig, TrainConfig


def scaled_learning_rate(learning_rate: float, lr_scaling: str, replicas: int) -> float:
    """train.learning_rate scaled for the replicas by runtime.lr_scaling.

    data.batch_size is per replica, so the global batch grows with the replicas; ``linear``
    multiplies the rate by the replicas (Goyal et al. 2017), ``sqrt`` by their square root.
    """
    factor = {"none": 1.0, "linear": replicas, "sqrt": math.sqrt(replicas)}
    return learning_rate * factor[lr_scaling]


def learning_rate_schedule(t: TrainConfig, steps_per_epoch: int, lr: float | None = None):
    """The learning rate: a float (constant) or a Keras schedule counted in steps.

    ``lr`` is the base rate (train.learning_rate scaled for the replicas; default unscaled).
    """
    lr = t.learning_rate if lr is None else lr
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


def build_optimizer(
    t: TrainConfig, runtime: RuntimeConfig, steps_per_epoch: int, replicas: int = 1
) -> keras.optimizers.Optimizer:
    """A Keras optimizer with the configured schedule, clipping, accumulation and EMA.

    ``replicas``: those the model trains on (its rate is scaled by runtime.lr_scaling).
    """
    rate = scaled_learning_rate(t.learning_rate, runtime.lr_scaling, replicas)
    common = {
        "learning_rate": learning_rate_schedule(t, steps_per_epoch, rate),
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
    if runtime.mixed_precision == "mixed_float16":
        # float16 gradients underflow without dynamic loss scaling; bfloat16 does not need it.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer applies at its current step."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return float(keras.ops.convert_to_numpy(inner.learning_rate))
