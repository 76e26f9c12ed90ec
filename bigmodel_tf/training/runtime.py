"""Runtime set-up: devices, distribution strategy, precision, seeds and determinism.

Reads the runtime section, the seed and the environment; returns a
``tf.distribute.Strategy``. The strategy is chosen from the environment
(docs/architecture.md): a TPU (``TPU_NAME`` set) → TPUStrategy through
TPUClusterResolver; ``TF_CONFIG`` → MultiWorkerMirroredStrategy (trained by
custom_loop.py); more than one GPU → MirroredStrategy; ``runtime.logical_cpus`` > 1 →
MirroredStrategy over that many logical CPU devices (so the multi-device path really runs
on a CPU-only machine); else the default strategy.
"""

from __future__ import annotations

import logging
import os

import keras
import tensorflow as tf

from bigmodel_tf.config import RuntimeConfig, TrainConfig
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.training.workers import worker_role

log = logging.getLogger("bigmodel_tf.training")


def split_cpu(count: int) -> list[str]:
    """Split the physical CPU into ``count`` logical devices; returns their names.

    TensorFlow fixes the device list when it first runs an op, so a different split later
    in the same process is impossible: that is reported as a ConfigError.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if not current or len(current) != count:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
            )
        except RuntimeError:
            have = len(tf.config.list_logical_devices("CPU"))
            raise ConfigError(
                f"runtime.logical_cpus={count}: TensorFlow is already running with {have} "
                "CPU device(s) in this process; set it before any training starts "
                "(e.g. run a new `bigmodel train` process)"
            ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def strategy_kind(runtime: RuntimeConfig, env=None, gpus: int | None = None) -> str:
    """Which strategy the environment calls for, without creating it (the doctor uses this).

    ``TPUStrategy`` when TPU_NAME is set, ``MultiWorkerMirroredStrategy`` when TF_CONFIG
    is, ``MirroredStrategy`` with more than one GPU or runtime.logical_cpus > 1, else
    ``default`` (one device).
    """
    env = os.environ if env is None else env
    gpus = len(tf.config.list_physical_devices("GPU")) if gpus is None else gpus
    if env.get("TPU_NAME"):
        return "TPUStrategy"
    if env.get("TF_CONFIG"):
        return "MultiWorkerMirroredStrategy"
    if gpus > 1 or runtime.logical_cpus > 1:
        return "MirroredStrategy"
    return "default"


def tpu_resolver_args(env=None) -> dict:
    """TPUClusterResolver's arguments from the environment.

    ``TPU_NAME`` is a Cloud TPU's name, a ``grpc://host:port`` address, or ``local`` on a
    TPU VM; ``TPU_ZONE`` and ``TPU_PROJECT`` are optional (the resolver asks the GCE
    metadata server when they are missing).
    """
    env = os.environ if env is None else env
    name = env.get("TPU_NAME", "").strip()
    if not name:
        raise ConfigError("TPU_NAME: expected a TPU name, a grpc://host:port address or 'local'")
    return {"tpu": name, "zone": env.get("TPU_ZONE") or None,
            "project": env.get("TPU_PROJECT") or None}


def connect_tpu(env=None) -> tf.distribute.Strategy:
    """Resolve, connect to and initialize the TPU system; return a TPUStrategy.

    A TPU VM (``TPU_NAME=local``) has its TPU attached, so there is no remote cluster to
    connect to. Any failure to reach the TPU is a ConfigError naming TPU_NAME.
    """
    args = tpu_resolver_args(env)
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(**args)
        if args["tpu"] != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"TPU_NAME={args['tpu']}: cannot reach the TPU ({reason}); unset TPU_NAME to "
            "train on this machine's devices"
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def choose_strategy(runtime: RuntimeConfig) -> tf.distribute.Strategy:
    """Create the distribution strategy ``strategy_kind`` names."""
    kind = strategy_kind(runtime)
    if kind == "TPUStrategy":
        return connect_tpu()
    if kind == "MultiWorkerMirroredStrategy":
        worker_role()  # a malformed TF_CONFIG is a ConfigError, not a TensorFlow traceback
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "MirroredStrategy" and len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    if kind == "MirroredStrategy":
        return tf.distribute.MirroredStrategy(devices=split_cpu(runtime.logical_cpus))
    return tf.distribute.get_strategy()


def unsupported(
    train: TrainConfig, runtime: RuntimeConfig, kind: str, replicas: int | None
) -> list[str]:
    """Settings that fail with this strategy, each as a message naming the key and a way out.

    Both fail while TensorFlow builds the first step, with errors that do not name the
    setting: Keras 3's gradient accumulation runs its all-reduce inside a conditional
    ("merge_call called while defining a new graph") with more than one replica, fit and
    the custom loop alike; XLA has no CPU collectives for MultiWorkerMirroredStrategy
    (UnimplementedError). Both reproduced here with TF 2.21 / Keras 3.15.
    """
    problems = []
    if train.gradient_accumulation_steps > 1 and (replicas is None or replicas > 1):
        problems.append(
            f"train.gradient_accumulation_steps={train.gradient_accumulation_steps}: "
            "Keras 3 cannot accumulate gradients over several replicas (an all-reduce inside "
            "a conditional); the global batch already grows with the replicas, so raise "
            "data.batch_size instead, or train on one device"
        )
    if runtime.jit_compile and kind == "MultiWorkerMirroredStrategy":
        problems.append("runtime.jit_compile=true: XLA cannot compile the all-reduce of "
                        "multi-worker training on CPU; set it to false")
    return problems


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether training must use the custom loop (Keras 3's fit fails under this strategy)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def configure_runtime(
    runtime: RuntimeConfig, train: TrainConfig, seed: int
) -> tf.distribute.Strategy:
    """Seed everything, set determinism and the precision policy, return the strategy.

    ``train`` is checked against the strategy (``unsupported``) before anything runs.
    """
    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # per-step collective notes
    keras.utils.set_random_seed(seed)
    if runtime.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = choose_strategy(runtime)
    kind = strategy_kind(runtime)
    problems = unsupported(train, runtime, kind, strategy.num_replicas_in_sync)
    if problems:
        raise ConfigError(problems[0])
    keras.mixed_precision.set_global_policy(runtime.mixed_precision)
    log.info(
        "strategy %s with %d replica(s); precision %s; jit_compile %s; deterministic %s",
        kind, strategy.num_replicas_in_sync, runtime.mixed_precision,
        runtime.jit_compile, runtime.deterministic,
    )
    return strategy
