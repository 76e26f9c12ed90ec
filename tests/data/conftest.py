"""Fixtures of the data-stage tests: configs from --set style overrides, CSV and image files."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bigmodel_tf.config import ExperimentConfig, load_config


@pytest.fixture
def make_cfg():
    """Build a validated config from ``KEY=VALUE`` overrides, like ``--set`` does."""

    def make(*overrides: str) -> ExperimentConfig:
        return load_config(overrides=overrides)

    return make


@pytest.fixture
def write_csv(tmp_path):
    """Write rows (the first is the header) to a CSV file in tmp_path and return its path."""

    def write(rows: list[list], name: str = "data.csv") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
        return path

    return write


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """Three class folders of 10 small PNG/JPEG images each, of different sizes and modes.

    Class k is bright in a different third of the image, so the classes are learnable.
    """
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for k, name in enumerate(["cat", "dog", "fox"]):
        (root / name).mkdir(parents=True)
        for i in range(10):
            size = (12 + i, 10 + k)  # (width, height): resized on load
            pixels = rng.integers(0, 60, (size[1], size[0], 3), dtype=np.uint8)
            third = size[0] // 3
            pixels[:, k * third : (k + 1) * third] += 180
            image = Image.fromarray(pixels, "RGB")
            if i % 2:
                image.convert("L").save(root / name / f"{i}.png")
            else:
                image.save(root / name / f"{i}.jpg")
    return root
