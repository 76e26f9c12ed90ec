"""A CSV data set for the evaluation tests: scikit-learn's wine with string labels.

The rows are split once, seeded: the rows a run trains on and the new rows it is later
evaluated on (``bigmodel evaluate --set data.path=...``).
"""

import csv

import numpy as np
from sklearn.datasets import load_wine

WINE_CELLARS = ("north", "south", "east")
WINE_ORDER = np.random.default_rng(7).permutation(178)  # training rows first, then new rows
TRAIN_ROWS, NEW_ROWS = WINE_ORDER[:130], WINE_ORDER[130:]


def write_wine_csv(path, rows=None, drop=None):
    """scikit-learn's wine as a CSV with string labels and a categorical column."""
    wine = load_wine()
    rng = np.random.default_rng(0)
    names = [n for n in wine.feature_names if n != drop]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*names, "cellar", "variety"])
        for i in rows if rows is not None else range(len(wine.target)):
            values = [v for n, v in zip(wine.feature_names, wine.data[i], strict=True)
                      if n != drop]
            label = ["barolo", "grignolino", "barbera"][wine.target[i]]
            writer.writerow([*values, WINE_CELLARS[rng.integers(3)], label])
    return path
