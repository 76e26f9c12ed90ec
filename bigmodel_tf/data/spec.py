"""What the model needs to know about the data: shapes, classes and train-split statistics.

The data stage produces a ``DataSpec``; model builders read it (input shape, number of
classes, normalization statistics fitted on the train split only) and the export stage
reads the input name. It is saved as ``data_spec.json`` in the run directory.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass
class DataSpec:
    """Shapes, class names and train-split normalization statistics of one data set."""

    kind: Literal["image", "tabular"]
    input_shape: list[int]  # one example, without the batch axis: [h, w, c] or [features]
    class_names: list[str]
    feature_names: list[str] | None = None  # tabular: column names after encoding
    # Normalization statistics fitted on the train split (per channel for images, per
    # feature for tabular); the model's Normalization layer is built from them.
    mean: list[float] | None = None
    variance: list[float] | None = None
    class_counts: dict[str, int] | None = None  # train split, before resampling
    # csv: category vocabularies of one-hot encoded columns, {column: [values...]}
    categories: dict[str, list[str]] | None = None
    # images: [low, high] of the raw pixel values (digits 0..16, image files 0..255), e.g.
    # for RandomContrast's value_range and for clients that send raw pixels.
    value_range: list[float] | None = None

    @property
    def num_classes(self) -> int:
        """Number of classes the model predicts."""
        return len(self.class_names)

    @property
    def input_name(self) -> str:
        """Name of the model's (and the serving signature's) input tensor."""
        return "image" if self.kind == "image" else "features"

    def save(self, path: str | Path) -> None:
        """Write the spec as JSON (atomically)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> DataSpec:
        """Read a spec written by ``save``."""
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
