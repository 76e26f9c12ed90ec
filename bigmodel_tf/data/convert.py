"""`bigmodel data convert`: write any registered data set, already split, as TFRecords.

The folder is written under a temporary sibling name and renamed into place, so a failed
conversion leaves nothing half-written. Reading it back with ``data.name=tfrecord
data.path=<folder>`` gives the same splits and the same spec (see ``tfrecord_io``).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

from bigmodel_tf.config import ExperimentConfig, to_dict
from bigmodel_tf.data.splits import load_splits
from bigmodel_tf.data.tfrecord_io import SPEC_FILE, SPLIT_NAMES, write_split
from bigmodel_tf.errors import DataError


def convert_to_tfrecord(cfg: ExperimentConfig, out_dir: str | Path) -> Path:
    """Write data.name's train/val/test splits as data.shards GZIP shards each + spec.json."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out}: already exists and is not an empty folder; choose a new one")
    splits = load_splits(cfg)
    if splits.spec.task != "classification":
        raise DataError(f"data.name={cfg.data.name}: TFRecord folders hold class ids; "
                        f"{splits.spec.task} data cannot be converted")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for split in SPLIT_NAMES:
            arrays = getattr(splits, split)
            write_split(tmp, split, arrays.x, arrays.y, cfg.data.shards)
        meta = {
            **dataclasses.asdict(splits.spec),
            "split_sizes": {s: len(getattr(splits, s).y) for s in SPLIT_NAMES},
            "shards": cfg.data.shards,
            "source": {"seed": cfg.seed, "data": to_dict(cfg.data)},
        }
        (tmp / SPEC_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty (checked above); rename cannot replace a folder portably
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
