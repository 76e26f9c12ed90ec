"""Training memory: estimates for ``bigmodel doctor --memory`` and a peak measurement.

Estimate, for the configured model, batch and precision (bytes):

- parameters: every variable, float32 even under mixed precision (Keras keeps float32
  master weights and casts them per step);
- gradients: one float32 value per trainable parameter;
- optimizer state: slots per trainable parameter — adam/adamw 2 (m, v), sgd 1 with
  momentum, +1 for EMA weights, +1 for the gradient accumulator;
- activations, as a range: at least the forward tensors the backward pass consumes (kept
  until it runs), at most every float tensor of the forward pass. Both are counted in
  the traced TensorFlow graph of one training step, at batch sizes 1 and 2: the
  difference is the per-example part, in the compute dtype (bfloat16 halves it); the rest
  does not grow with the batch (e.g. weights cast to bfloat16).

The measured peak lay inside that range for an MLP, the CNN, the ResNet and the
transformer, in float32 and mixed_bfloat16 (tested). The largest batch that fits a budget
is given for the upper bound (safe) and the lower bound (optimistic).
``measure_peak_bytes`` trains a few steps and reads TensorFlow's allocator peak.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np
import tensorflow as tf

from bigmodel_tf.config import TrainConfig

# Graph ops whose outputs alias their input or are not activations.
_NOT_ACTIVATIONS = {"Identity", "Reshape", "ReadVariableOp", "Const", "Shape", "Squeeze",
                    "ExpandDims", "NoOp", "Placeholder", "StopGradient"}


@dataclass
class MemoryEstimate:
    """Estimated training memory (bytes) for one model, precision and batch."""

    parameters: int  # count of all variables' values
    trainable: int
    parameter_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    saved_per_example: int  # activations the backward pass consumes (lower bound)
    forward_per_example: int  # every float tensor of the forward pass (upper bound)
    saved_fixed: int  # batch-independent parts of the two
    forward_fixed: int
    batch_size: int

    @property
    def state_bytes(self) -> int:
        """Weights, gradients and optimizer state: memory that does not grow with the batch."""
        return self.parameter_bytes + self.gradient_bytes + self.optimizer_bytes

    def low(self, batch_size: int | None = None) -> int:
        """Lower estimate of the peak at ``batch_size`` (default: the configured batch)."""
        batch = self.batch_size if batch_size is None else batch_size
        return self.state_bytes + self.saved_fixed + batch * self.saved_per_example

    def high(self, batch_size: int | None = None) -> int:
        """Upper estimate of the peak at ``batch_size`` (default: the configured batch)."""
        batch = self.batch_size if batch_size is None else batch_size
        return self.state_bytes + self.forward_fixed + batch * self.forward_per_example

    def largest_batch(self, budget_bytes: int, safe: bool = True) -> int:
        """The largest batch whose upper (``safe``) or lower estimate fits the budget."""
        fixed, per_example = ((self.forward_fixed, self.forward_per_example) if safe
                              else (self.saved_fixed, self.saved_per_example))
        room = budget_bytes - self.state_bytes - fixed
        return max(0, room // max(1, per_example))

    def as_dict(self) -> dict:
        """Plain fields plus the peak range at the configured batch."""
        return {**asdict(self), "low_bytes": self.low(), "high_bytes": self.high()}


def optimizer_slots(t: TrainConfig) -> int:
    """Optimizer values kept per trainable parameter."""
    slots = {"adam": 2, "adamw": 2, "sgd": 1 if t.momentum > 0 else 0}[t.optimizer]
    return slots + int(t.ema) + int(t.gradient_accumulation_steps > 1)


def _activation_bytes(model: keras.Model, input_shape: list[int], batch: int) -> tuple:
    """(saved, forward) bytes of float activations in one training step at ``batch``."""
    forward_ops = {}

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.cast(model(x, training=True), tf.float32))
        forward_ops["count"] = len(tf.compat.v1.get_default_graph().get_operations())
        return tape.gradient(loss, model.trainable_variables)

    ops = step.get_concrete_function(
        tf.TensorSpec([batch, *input_shape], tf.float32)).graph.get_operations()
    backward = set(ops[forward_ops["count"]:])
    saved = forward = 0
    for op in ops[:forward_ops["count"]]:
        if op.type in _NOT_ACTIVATIONS:
            continue
        for tensor in op.outputs:
            if tensor.dtype.is_floating and tensor.shape.is_fully_defined():
                size = tensor.shape.num_elements() * tensor.dtype.size
                forward += size
                saved += size if any(c in backward for c in tensor.consumers()) else 0
    return saved, forward


def estimate_memory(train: TrainConfig, batch_size: int, model: keras.Model,
                    input_shape: list[int]) -> MemoryEstimate:
    """Estimate the training memory of ``model`` (built under the run's precision policy)
    trained with the ``train`` section's optimizer at ``batch_size`` (per replica)."""
    parameters = sum(int(np.prod(v.shape)) for v in model.weights)
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    (saved1, forward1), (saved2, forward2) = (
        _activation_bytes(model, input_shape, b) for b in (1, 2))
    return MemoryEstimate(
        parameters=parameters,
        trainable=trainable,
        parameter_bytes=4 * parameters,
        gradient_bytes=4 * trainable,
        optimizer_bytes=4 * trainable * optimizer_slots(train),
        saved_per_example=saved2 - saved1,
        forward_per_example=forward2 - forward1,
        saved_fixed=max(0, 2 * saved1 - saved2),
        forward_fixed=max(0, 2 * forward1 - forward2),
        batch_size=batch_size,
    )


def measure_peak_bytes(model: keras.Model, x: np.ndarray, y: np.ndarray, batch: int,
                       steps: int = 3) -> int:
    """Allocator peak (bytes) while a compiled ``model`` trains ``steps`` steps at ``batch``.

    TensorFlow's allocator counts every live tensor, the variables and optimizer slots
    included; ``x`` and ``y`` (kept in memory as the data source) count too, so pass a
    single batch. The allocator must keep statistics: a GPU's does; on a CPU, TensorFlow's
    BFC allocator (``TF_CPU_ALLOCATOR_USE_BFC=true`` before TensorFlow starts) does.
    """
    device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
    data = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(batch).take(steps)
    model.fit(data.take(1), epochs=1, verbose=0, shuffle=False)  # build optimizer, trace step
    tf.config.experimental.reset_memory_stats(device)
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    return tf.config.experimental.get_memory_info(device)["peak"]


def _size(nbytes: float) -> str:
    """Bytes in human units."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(nbytes) < 1024 or unit == "GiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1024
    return f"{nbytes:.1f} GiB"


def memory_findings(estimate: MemoryEstimate, precision: str, budget_bytes: int) -> list:
    """The estimate as ``(level, text)`` findings for ``bigmodel doctor --memory``."""
    e = estimate
    level = "ok" if e.high() <= budget_bytes else (
        "warn" if e.low() > budget_bytes else "info")
    return [
        ("info", f"parameters: {e.parameters:,} ({e.trainable:,} trainable): "
                 f"{_size(e.parameter_bytes)} (float32 master weights)"),
        ("info", f"gradients: {_size(e.gradient_bytes)}; optimizer state: "
                 f"{_size(e.optimizer_bytes)}"),
        ("info", f"activations ({precision}): {_size(e.saved_per_example)} to "
                 f"{_size(e.forward_per_example)} per example; at batch {e.batch_size}: "
                 f"{_size(e.low() - e.state_bytes)} to {_size(e.high() - e.state_bytes)}"),
        (level, f"estimated peak at batch {e.batch_size}: {_size(e.low())} to "
                f"{_size(e.high())} of a {_size(budget_bytes)} budget"),
        ("info", f"largest batch that fits the budget: {e.largest_batch(budget_bytes):,} "
                 f"(safe) to {e.largest_batch(budget_bytes, safe=False):,} (optimistic)"),
    ]
