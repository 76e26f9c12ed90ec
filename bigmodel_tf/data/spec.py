"""What the model needs to know about the data: shapes, task, classes, train statistics.

The data stage produces a ``DataSpec``; model builders read it (input shape, task, number
of classes, normalization statistics fitted on the train split only) and the export stage
reads the input name. It is saved as ``data_spec.json`` in the run directory; a file
written before tasks existed has no ``task`` and loads as classification.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bigmodel_tf.io import write_json


@dataclass
class DataSpec:
    """Shapes, task, class names and train-split normalization statistics of one data set."""

    kind: Literal["image", "tabular"]
    input_shape: list[int]  # one example, without the batch axis: [h, w, c] or [features]
    class_names: list[str]  # [] for regression
    feature_names: list[str] | None = None  # tabular: column names after encoding
    # Normalization statistics fitted on the train split (per channel for images, per
    # feature for tabular); the model's Normalization layer is built from them.
    mean: list[float] | None = None
    variance: list[float] | None = None
    class_counts: dict[str, int] | None = None  # train split, before resampling
    # csv: category vocabularies of one-hot encoded columns, {column: [values...]} ({} when
    # all columns are numeric); with it the serving signature takes the raw columns
    # (data/columns.py), without it (None: not a CSV) one input named input_name
    categories: dict[str, list[str]] | None = None
    # images: [low, high] of the raw pixel values (digits 0..16, image files 0..255), e.g.
    # for RandomContrast's value_range and for clients that send raw pixels.
    value_range: list[float] | None = None
    task: str = "classification"  # bigmodel_tf.tasks.TASK_NAMES
    # regression: mean and standard deviation of the train split's labels (the model's
    # output is rescaled with them, so the network learns a unit-scale target)
    label_mean: float | None = None
    label_std: float | None = None
    train_examples: int | None = None  # train split, before resampling

    @property
    def num_classes(self) -> int:
        """Number of classes the model predicts."""
        return len(self.class_names)

    @property
    def output_units(self) -> int:
        """Width of the model's output: one probability per class, or one regression value."""
        return 1 if self.task == "regression" else self.num_classes

    @property
    def input_name(self) -> str:
        """Name of the model's (and the serving signature's) input tensor."""
        return "image" if self.kind == "image" else "features"

    def save(self, path: str | Path) -> None:
        """Write the spec as JSON (atomically)."""
        path = Path(path)
        write_json(path, dataclasses.asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> DataSpec:
        """Read a spec written by ``save``."""
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
