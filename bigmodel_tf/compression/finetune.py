"""Fine-tuning of the tf_keras copies that TF-MOT wraps (pruning, quantization-aware training).

Reads the train and val pipelines of the run (``build_dataset``, the same batches training
used, sample weights included). TF-MOT models are tf_keras models, so this is the one
place where a tf_keras model is compiled and fitted; the Keras 3 training loop lives in
training/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf
import tf_keras

from bigmodel_tf.config import DataConfig, TaskConfig, TrainConfig
from bigmodel_tf.data import Splits, build_dataset
from bigmodel_tf.tasks import get_task


@dataclass(frozen=True)
class FinetuneInputs:
    """What fine-tuning reads besides the model: the run's splits, its pipeline settings
    (``data.*``, the seed), ``train.monitor``/``train.verbose`` and the loss (``task.*``)."""

    splits: Splits
    data: DataConfig
    seed: int
    train: TrainConfig
    task: TaskConfig

    def read(self, split: str) -> tf.data.Dataset:
        """Batches of one split, as training read them (one device)."""
        return build_dataset(self.splits, split, self.data, self.seed, self.data.batch_size)


def steps_per_epoch(inputs: FinetuneInputs) -> int:
    """Batches per fine-tuning epoch (the train pipeline's cardinality)."""
    cardinality = int(inputs.read("train").cardinality())
    if cardinality > 0:
        return cardinality
    return math.ceil(inputs.splits.train.size / inputs.data.batch_size)


def finetune(
    model, inputs: FinetuneInputs, learning_rate: float, epochs: int, callbacks: list,
    keep_best_from: int = 0,
) -> dict:
    """Compile ``model`` and fit it for ``epochs``; return the history.

    Adam from ``learning_rate`` (compression.learning_rate), cosine-decayed to zero over
    the fine-tuning, so the last epochs settle the weights at the final sparsity (or
    quantization ranges). The weights of the best epoch (train.monitor on the val split)
    from epoch index ``keep_best_from`` on are kept, as training keeps its best epoch.
    """
    best = tf_keras.callbacks.EarlyStopping(
        monitor=inputs.train.monitor, patience=epochs, restore_best_weights=True,
        start_from_epoch=keep_best_from,
    )
    schedule = tf_keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=steps_per_epoch(inputs) * epochs
    )
    task = get_task(inputs.splits.spec.task)
    model.compile(
        optimizer=tf_keras.optimizers.Adam(schedule),
        loss=task.loss(inputs.task, tf_keras),
        metrics=task.compile_metrics(tf_keras),
    )
    history = model.fit(
        inputs.read("train"),
        validation_data=inputs.read("val"),
        epochs=epochs,
        callbacks=[*callbacks, best],
        verbose=0 if inputs.train.verbose == 0 else 2,  # one line per (short) epoch
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}
