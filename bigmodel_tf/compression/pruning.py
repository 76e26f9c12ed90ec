"""Magnitude pruning with TF-MOT on the tf_keras copy of a trained model.

Reads the compression section (schedule, target sparsity, M:N structure, XNNPACK policy, layers
to leave dense, fine-tuning length) and the train/val pipelines; returns the stripped
pruned tf_keras model and the achieved sparsity of every pruned weight.

TF-MOT's ``prune_low_magnitude(model)`` refuses a whole model as soon as one layer is not
in its registry (here: the input ``Normalization``, ``Resizing`` and the transformer's
``LearnedEmbedding``). So the model is cloned with a function that wraps each layer on
its own: layers TF-MOT supports are pruned, unsupported ones are left dense and reported
with the reason. Fine-tuning runs with ``UpdatePruningStep`` and ``PruningSummaries``
(TensorBoard), then ``strip_pruning`` removes the wrappers and leaves the zeros.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tf_keras

from bigmodel_tf.compression.bridge import tfmot
from bigmodel_tf.compression.finetune import FinetuneInputs, finetune, steps_per_epoch
from bigmodel_tf.config import CompressionConfig
from bigmodel_tf.errors import CompressionError

log = logging.getLogger("bigmodel_tf.compression")
LEAVE_DENSE = "add it to compression.leave_dense"


@dataclass
class PruneResult:
    """The stripped pruned tf_keras model and what pruning did to each layer."""

    model: tf_keras.Model
    sparsity: dict[str, dict]  # weight name -> {"target", "achieved", "size"}
    left_dense: dict[str, str]  # layer name -> why it was not pruned
    schedule: dict  # the schedule actually used, in fine-tuning steps
    history: dict = field(default_factory=dict)


def m_by_n(c: CompressionConfig) -> tuple[int, int] | None:
    """The (M, N) structure of ``compression.m_by_n``, or None for unstructured pruning."""
    if c.m_by_n is None:
        return None
    m, _, n = c.m_by_n.partition(":")
    return int(m), int(n)


def schedule_steps(c: CompressionConfig, total_steps: int) -> tuple[int, int]:
    """(begin_step, end_step) of the pruning schedule within ``total_steps`` fine-tuning steps.

    The default end (-1) is a quarter of the fine-tuning: the rest recovers the accuracy
    at the final sparsity (measured on digits: ending later left less time to recover
    and lost up to 2 points). The end is moved to the next mask update (a multiple of ``frequency``
    after the begin), because the schedule reaches its target only on an update step.
    """
    if c.begin_step >= total_steps:
        raise CompressionError(
            f"compression.begin_step: {c.begin_step} is not within the fine-tuning's "
            f"{total_steps} steps; lower it or raise compression.finetune_epochs"
        )
    if c.schedule == "constant":
        return c.begin_step, -1
    end = c.end_step if c.end_step != -1 else max(c.begin_step + 1, total_steps // 4)
    end = c.begin_step + math.ceil((end - c.begin_step) / c.frequency) * c.frequency
    if end > total_steps:
        raise CompressionError(
            f"compression.end_step: the schedule reaches its target at step {end} (the "
            f"mask update at or after end_step), beyond the fine-tuning's {total_steps} "
            "steps; lower end_step or frequency, or raise compression.finetune_epochs"
        )
    return c.begin_step, end


def _schedule(c: CompressionConfig, begin: int, end: int):
    """The TF-MOT pruning schedule object for the configured kind."""
    sparsity = tfmot().sparsity.keras
    if c.schedule == "constant":
        return sparsity.ConstantSparsity(c.target_sparsity, begin, end, c.frequency)
    return sparsity.PolynomialDecay(
        c.initial_sparsity, c.target_sparsity, begin, end, frequency=c.frequency
    )


def _has_matrix(layer) -> bool:
    """Whether a layer holds a kernel-like weight (rank 2 or more) worth reporting."""
    return any(len(w.shape) >= 2 for w in layer.weights)


def _check_m_by_n(layer, weights, structure: tuple[int, int]) -> None:
    """Raise unless every weight has the shape TF-MOT's M:N pruning needs.

    TF-MOT groups N consecutive input channels (rank 2 [in, out] or rank 4 conv kernels);
    other ranks fail inside training, and an input-channel count that is not a multiple
    of N pads the groups, so the layer would not reach M/N sparsity.
    """
    n = structure[1]
    for weight in weights:
        shape = tuple(weight.shape)
        channels = shape[0] if len(shape) == 2 else shape[2] if len(shape) == 4 else None
        if channels is None or channels % n:
            raise CompressionError(
                f"layer {layer.name} ({type(layer).__name__}): TF-MOT's {structure[0]}:{n} "
                f"pruning needs a rank-2 or rank-4 kernel with input channels divisible by "
                f"{n}, got shape {list(shape)}; {LEAVE_DENSE} or set compression.m_by_n=none"
            )


def _xnnpack_policy(model, c: CompressionConfig):
    """TF-MOT's PruneForLatencyOnXNNPack, after checking the model qualifies for it."""
    if not c.xnnpack_policy:
        return None
    policy = tfmot().sparsity.keras.PruneForLatencyOnXNNPack()
    try:
        policy.ensure_model_supports_pruning(model)
    except ValueError as exc:
        raise CompressionError(
            f"compression.xnnpack_policy: TF-MOT refuses model {model.name}: {exc} "
            "(the policy needs a MobileNet-style network made only of layers XNNPACK's "
            "sparse inference supports); set compression.xnnpack_policy=false"
        ) from None
    return policy


def wrap_for_pruning(model, c: CompressionConfig, schedule) -> tuple:
    """Clone ``model`` with every prunable layer wrapped: (model, wrappers, left_dense)."""
    names = {layer.name for layer in model.layers}
    missing = sorted(set(c.leave_dense) - names)
    if missing:
        raise CompressionError(
            f"compression.leave_dense: no layer named {', '.join(missing)} in model "
            f"{model.name}; its layers with weights: "
            + ", ".join(layer.name for layer in model.layers if _has_matrix(layer))
        )
    policy = _xnnpack_policy(model, c)
    structure = m_by_n(c)
    left_dense: dict[str, str] = {}
    wrappers = []

    def wrap(layer):
        if not _has_matrix(layer):
            return layer
        if layer.name in c.leave_dense:
            left_dense[layer.name] = "compression.leave_dense"
            return layer
        if policy is not None and not policy.allow_pruning(layer):
            left_dense[layer.name] = "PruneForLatencyOnXNNPack prunes only 1x1 Conv2D layers"
            return layer
        try:
            wrapped = tfmot().sparsity.keras.prune_low_magnitude(
                layer, pruning_schedule=schedule, sparsity_m_by_n=structure
            )
        except ValueError:
            left_dense[layer.name] = f"TF-MOT cannot prune {type(layer).__name__} layers"
            return layer
        weights = wrapped.layer.get_prunable_weights()
        if not weights:
            left_dense[layer.name] = f"TF-MOT prunes no weight of {type(layer).__name__}"
            return layer
        if structure:
            _check_m_by_n(layer, weights, structure)
        wrappers.append(wrapped)
        return wrapped

    try:
        clone = tf_keras.models.clone_model(model, clone_function=wrap)
    except (ValueError, TypeError) as exc:
        raise layer_error(exc, model, "prune") from None
    if not wrappers:
        raise CompressionError(
            f"model {model.name}: no layer left to prune (left dense: "
            f"{', '.join(left_dense) or 'none'}); check compression.leave_dense"
        )
    return clone, wrappers, left_dense


def layer_error(exc: Exception, model, action: str) -> CompressionError:
    """A CompressionError naming the model's layer(s) that TF-MOT's message mentions."""
    message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    named = [layer.name for layer in model.layers if layer.name in str(exc)]
    where = f"layer {', '.join(named)}" if named else f"model {model.name}"
    return CompressionError(f"{where}: TF-MOT cannot {action} it ({message}); {LEAVE_DENSE}")


def weight_sparsity(model, names: list[str]) -> dict[str, float]:
    """Fraction of exact zeros of each named weight (``layer/.../kernel``) of ``model``."""
    values = {w.name.split(":")[0]: w for w in model.weights}
    return {name: float(np.mean(values[name].numpy() == 0)) for name in names}


def prune(model, c: CompressionConfig, inputs: FinetuneInputs, log_dir: Path) -> PruneResult:
    """Prune a tf_keras model as ``c`` says, fine-tuned on ``inputs``; strip the wrappers."""
    sparsity_api = tfmot().sparsity.keras
    total = steps_per_epoch(inputs) * c.finetune_epochs
    begin, end = schedule_steps(c, total)
    wrapped, pruned_layers, left_dense = wrap_for_pruning(model, c, _schedule(c, begin, end))
    log.info("pruning %d layers to %s sparsity over fine-tuning steps %d..%d of %d",
             len(pruned_layers), c.m_by_n or c.target_sparsity, begin, end, total)
    callbacks = [sparsity_api.UpdatePruningStep(), sparsity_api.PruningSummaries(str(log_dir))]
    # Keep the best epoch among those that end at the final sparsity (step >= end).
    final_epoch = max(math.ceil(max(end, begin) / (total // c.finetune_epochs)) - 1, 0)
    try:
        history = finetune(wrapped, inputs, c.learning_rate, c.finetune_epochs, callbacks,
                           keep_best_from=final_epoch)
    except (ValueError, TypeError) as exc:
        raise layer_error(exc, model, "prune") from None
    stripped = sparsity_api.strip_pruning(wrapped)
    structure = m_by_n(c)
    target = structure[0] / structure[1] if structure else c.target_sparsity
    names = [w.name.split(":")[0] for layer in pruned_layers
             for w in layer.layer.get_prunable_weights()]
    achieved = weight_sparsity(stripped, names)
    sizes = {w.name.split(":")[0]: int(np.prod(w.shape)) for w in stripped.weights}
    return PruneResult(
        model=stripped,
        sparsity={n: {"target": target, "achieved": achieved[n], "size": sizes[n]}
                  for n in names},
        left_dense=left_dense,
        schedule={"kind": c.schedule, "begin_step": begin, "end_step": end,
                  "frequency": c.frequency, "total_steps": total, "m_by_n": c.m_by_n,
                  "xnnpack_policy": c.xnnpack_policy},
        history=history,
    )
