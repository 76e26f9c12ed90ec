"""Write the README tour's example inputs from data that ships with scikit-learn.

``python scripts/make_examples.py [--out DIR]`` writes, into DIR (default: the current
folder):

- ``my.csv``: scikit-learn's wine set as a CSV file with a header row, 13 numeric
  columns and the class in the column ``target``;
- ``photos/<class>/<n>.png``: scikit-learn's 8x8 digits as 32x32 grey PNG files, one
  sub-folder per class (what ``data.name=image_dir`` reads).

Nothing is overwritten: an existing ``my.csv`` or ``photos/`` is an error.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits, load_wine

IMAGE_SIZE = 32


def write_csv(path: Path) -> None:
    """scikit-learn's wine set as a CSV with a header and the label column ``target``."""
    wine = load_wine()
    with path.open("x", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*wine.feature_names, "target"])
        for features, label in zip(wine.data, wine.target, strict=True):
            writer.writerow([*(f"{value:g}" for value in features), int(label)])


def write_image_folder(folder: Path) -> None:
    """scikit-learn's digits as grey PNGs in one sub-folder per class."""
    digits = load_digits()
    folder.mkdir()
    for index, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        pixels = (image * (255 / 16)).round().astype(np.uint8)
        png = Image.fromarray(pixels).resize((IMAGE_SIZE, IMAGE_SIZE), Image.NEAREST)
        (folder / str(label)).mkdir(exist_ok=True)
        png.save(folder / str(label) / f"{index}.png")


def main(argv: list[str] | None = None) -> int:
    """Write my.csv and photos/ into --out; exit 2 if either exists already."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", type=Path, help="folder to write into")
    out = parser.parse_args(argv).out
    targets = [out / "my.csv", out / "photos"]
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        print(f"make_examples: error: {', '.join(existing)}: already exists; nothing was "
              "written (choose another --out)", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    write_csv(targets[0])
    write_image_folder(targets[1])
    print(f"wrote {targets[0]} (178 rows, label column 'target') and {targets[1]}/ "
          "(1797 PNG images in 10 class folders)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
