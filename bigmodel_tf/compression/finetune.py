"""Fine-tuning of the tf_keras copies that TF-MOT wraps (pruning, quantization-aware training).

Reads the train and val pipelines of the run's config (``build_dataset``, the same batches
training used, sample weights included). TF-MOT models are tf_keras models, so this is the
one place where a tf_keras model is compiled and fitted; the Keras 3 training loop lives in
training/.
"""

from __future__ import annotations

import math
from functools import partial

import tf_keras

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data import build_dataset, load_splits
from bigmodel_tf.tasks import get_task


def steps_per_epoch(cfg: ExperimentConfig) -> int:
    """Batches per fine-tuning epoch (the train pipeline's cardinality)."""
    splits = load_splits(cfg)
    train = build_dataset(splits, "train", cfg.data, cfg.seed, cfg.data.batch_size)
    cardinality = int(train.cardinality())
    if cardinality > 0:
        return cardinality
    return math.ceil(len(splits.train.y) / cfg.data.batch_size)


def finetune(
    model, cfg: ExperimentConfig, epochs: int, callbacks: list, keep_best_from: int = 0
) -> dict:
    """Compile ``model`` and fit it for ``epochs``; return the history.

    Adam from compression.learning_rate, cosine-decayed to zero over the fine-tuning, so
    the last epochs settle the weights at the final sparsity (or quantization ranges).
    The weights of the best epoch (train.monitor on the val split) from epoch index
    ``keep_best_from`` on are kept, as training keeps its best epoch.
    """
    best = tf_keras.callbacks.EarlyStopping(
        monitor=cfg.train.monitor, patience=epochs, restore_best_weights=True,
        start_from_epoch=keep_best_from,
    )
    schedule = tf_keras.optimizers.schedules.CosineDecay(
        cfg.compression.learning_rate, decay_steps=steps_per_epoch(cfg) * epochs
    )
    task = get_task(load_splits(cfg).spec.task)
    model.compile(
        optimizer=tf_keras.optimizers.Adam(schedule),
        loss=task.loss(cfg.task, tf_keras),
        metrics=task.compile_metrics(tf_keras),
    )
    read = partial(build_dataset, load_splits(cfg), data=cfg.data, seed=cfg.seed,
                   global_batch=cfg.data.batch_size)  # one device
    history = model.fit(
        read("train"),
        validation_data=read("val"),
        epochs=epochs,
        callbacks=[*callbacks, best],
        verbose=0 if cfg.train.verbose == 0 else 2,  # one line per (short) epoch
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}
