"""Build every split on 2 logical CPU replicas, train one step and validate, per case.

Started by tests/training/test_replicas.py in its own interpreter (devices are fixed when
TensorFlow starts). Prints one JSON object: per case, the split sizes, the per-replica
batch shapes of val, the weight total of val, and the distributed val metrics next to
those of the same weights evaluated on one device.
Usage: python -m tests.training.replica_probe VAL_FRACTION:BATCH ...
"""

import json
import sys

import keras
import numpy as np
import tensorflow as tf

from bigmodel_tf.config import load_config
from bigmodel_tf.data import load_splits
from bigmodel_tf.models import build_model
from bigmodel_tf.training.custom_loop import ReplicaValidation
from bigmodel_tf.training.runtime import split_cpu
from bigmodel_tf.training.trainer import compile_model
from tests.pipelines import config_dataset, config_reader


def one_device_metrics(model, x, y) -> dict:
    """Loss and accuracy of ``model`` on (x, y), computed in one eager call."""
    probabilities = model(x, training=False)
    loss = keras.losses.SparseCategoricalCrossentropy()(y, probabilities)
    accuracy = np.mean(np.argmax(probabilities, axis=-1) == y)
    return {"val_loss": float(loss), "val_accuracy": float(accuracy)}


def probe(strategy, val_fraction: float, batch: int) -> dict:
    """One case: build, train one step with fit, validate as fit does on several replicas."""
    cfg = load_config(None, ["data.name=iris", "model.name=mlp", f"data.batch_size={batch}",
                             f"data.val_fraction={val_fraction}"])
    splits, replicas = load_splits(cfg), strategy.num_replicas_in_sync
    with strategy.scope():
        train, val = (config_dataset(cfg, split, replicas) for split in ("train", "val"))
        model = build_model(cfg.model, splits.spec)
        compile_model(model, cfg.train, cfg.runtime, cfg.task, splits.spec.task, 1)
        model.fit(train, steps_per_epoch=1, epochs=1, verbose=0)
        validation = ReplicaValidation(strategy, config_reader(cfg, replicas))
    validation.set_model(model)
    logs = {}
    validation.on_epoch_end(0, logs)
    shapes = [[int(t.shape[0]) for t in strategy.experimental_local_results(b[0])]
              for b in validation.data]
    return {
        "sizes": [len(splits.train.y), len(splits.val.y), len(splits.test.y)],
        "train_batches": [int(x.shape[0]) for x, *_ in train],
        "val_shapes": shapes,
        "val_weight": float(sum(float(tf.reduce_sum(w)) for _, _, w in val)),
        "distributed": logs,
        "one_device": one_device_metrics(model, splits.val.x, splits.val.y),
    }


if __name__ == "__main__":
    devices = split_cpu(2)
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    results = {}
    for case in sys.argv[1:]:
        fraction, batch = case.split(":")
        keras.utils.set_random_seed(0)
        results[case] = probe(strategy, float(fraction), int(batch))
    print(json.dumps(results))
