"""``build_dataset`` for a test's config: what a stage passes it, from one config."""

from functools import partial

import tensorflow as tf

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data import build_dataset, load_splits


def config_reader(cfg: ExperimentConfig, replicas: int = 1):
    """``read(split, ...)``: ``build_dataset`` of ``cfg``'s splits at a global batch of
    data.batch_size per replica (what run_train gives the custom loop)."""
    return partial(build_dataset, load_splits(cfg), data=cfg.data, seed=cfg.seed,
                   global_batch=cfg.data.batch_size * replicas)


def config_dataset(cfg: ExperimentConfig, split: str, replicas: int = 1,
                   input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """The pipeline of ``cfg``'s split; ``replicas`` share fit's global batch, an input
    context brings its own replicas."""
    if input_context is not None:
        replicas = input_context.num_replicas_in_sync
    return config_reader(cfg, replicas)(split, replicas=replicas, input_context=input_context)
