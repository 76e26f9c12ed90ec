"""A CSV data set for the evaluation tests: scikit-learn's wine with string labels.

The rows are split once, seeded: the rows a run trains on and the new rows it is later
evaluated on (``bigmodel evaluate --set data.path=...``).
"""

import numpy as np

from bigmodel_tf.benchmarks.tabular import write_wine_csv

WINE_ORDER = np.random.default_rng(7).permutation(178)  # training rows first, then new rows
TRAIN_ROWS, NEW_ROWS = WINE_ORDER[:130], WINE_ORDER[130:]

__all__ = ["NEW_ROWS", "TRAIN_ROWS", "write_wine_csv"]
