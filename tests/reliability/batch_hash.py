"""Test helper: ``python batch_hash.py N [KEY=VALUE ...]`` prints, as JSON, the sha256 of
the first N train batches of epochs 0, 1 and 2 of the config's train pipeline
(``build_dataset`` on one device)."""

import hashlib
import json
import sys

from bigmodel_tf.config import load_config
from bigmodel_tf.data import build_dataset, load_splits
from bigmodel_tf.data.order import set_epoch


def batch_hashes(cfg, count: int, epochs=(0, 1, 2)) -> dict:
    """{epoch: sha256 of its first ``count`` batches (every tensor of each batch)}."""
    dataset = build_dataset(load_splits(cfg), "train", cfg.data, cfg.seed, cfg.data.batch_size)
    hashes = {}
    for epoch in epochs:
        set_epoch(epoch)
        digest = hashlib.sha256()
        for batch in dataset.take(count).as_numpy_iterator():
            for tensor in batch:
                digest.update(tensor.tobytes())
        hashes[str(epoch)] = digest.hexdigest()
    return hashes


if __name__ == "__main__":
    count, *overrides = sys.argv[1:]
    print(json.dumps(batch_hashes(load_config(overrides=overrides), int(count))))
