"""Runtime set-up: devices, distribution strategy, precision, seeds and determinism.

Reads ``cfg.runtime`` and ``cfg.seed`` and the environment; returns a
``tf.distribute.Strategy``. The strategy is chosen from the environment as DESIGN.md fixes
it: a TPU (``TPU_NAME`` set) → TPUStrategy; ``TF_CONFIG`` → MultiWorkerMirroredStrategy;
more than one GPU → MirroredStrategy; ``runtime.logical_cpus`` > 1 → MirroredStrategy over
that many logical CPU devices (so the multi-device path really runs on a CPU-only
machine); else the default strategy.
"""

from __future__ import annotations

import logging
import os

import keras
import tensorflow as tf

from bigmodel_tf.errors import ConfigError

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


def choose_strategy(cfg) -> tf.distribute.Strategy:
    """Pick the distribution strategy from the environment and ``runtime.logical_cpus``."""
    if os.environ.get("TPU_NAME"):
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ["TPU_NAME"])
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if cfg.runtime.logical_cpus > 1:
        return tf.distribute.MirroredStrategy(devices=split_cpu(cfg.runtime.logical_cpus))
    return tf.distribute.get_strategy()


def configure_runtime(cfg) -> tf.distribute.Strategy:
    """Seed everything, set determinism and the precision policy, return the strategy."""
    keras.utils.set_random_seed(cfg.seed)
    if cfg.runtime.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = choose_strategy(cfg)
    keras.mixed_precision.set_global_policy(cfg.runtime.mixed_precision)
    log.info(
        "strategy %s with %d replica(s); precision %s; jit_compile %s; deterministic %s",
        type(strategy).__name__, strategy.num_replicas_in_sync, cfg.runtime.mixed_precision,
        cfg.runtime.jit_compile, cfg.runtime.deterministic,
    )
    return strategy
