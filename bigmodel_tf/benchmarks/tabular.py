"""The tabular_defaults suite: the default network against the best tuned baseline.

On scikit-learn's wine, iris and breast cancer, and on wine written as a CSV with a
categorical column, each seed of ``benchmark.seeds`` trains the default experiment
(``model.name=auto``, so the small-tabular recipe of models/auto.py) with ``bigmodel
train``'s own stage and the four tuned baselines of tasks/classification/baselines.py on
the same split. A seed changes the split and the initialization. The result gives, per data set,
mean and standard deviation over the seeds of the network's test accuracy and log loss,
beside those of the baseline with the best mean accuracy.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine

from bigmodel_tf.config import ExperimentConfig, from_dict, with_changes
from bigmodel_tf.experiments import run

DATA_SETS = ("wine", "iris", "breast_cancer", "wine_csv")
ALL_BASELINES = ["logistic_regression", "svm", "random_forest", "gradient_boosting"]
# Nothing but the training run and its test metrics (and the baselines, where asked).
_LEAN = {"evaluation.baselines": [], "evaluation.interpret": False, "export.enabled": False,
         "train.histogram_freq": 0, "train.verbose": 0}
WINE_CELLARS = ("north", "south", "east")


def write_wine_csv(path: Path, rows=None, drop: str | None = None) -> Path:
    """scikit-learn's wine as a CSV: string labels (variety) and a categorical column."""
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


def default_config(data_set: str, seed: int, work_dir: Path) -> ExperimentConfig:
    """The default experiment on ``data_set`` with ``seed``, without extra analyses."""
    if data_set == "wine_csv":
        path = work_dir / "wine.csv"
        if not path.exists():
            write_wine_csv(path)
        data = {"data.name": "csv", "data.path": path, "data.label": "variety"}
    else:
        data = {"data.name": data_set}
    return with_changes(from_dict({}), {**data, "seed": seed, **_LEAN})


def _mean_sd(values: list[float]) -> dict:
    """Mean and sample standard deviation (0 for one value), rounded."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": round(statistics.fmean(values), 4), "sd": round(sd, 4)}


def _summary(runs: list[dict]) -> dict:
    """Test accuracy and log loss of the runs, each as mean and sd over the seeds."""
    return {"accuracy": _mean_sd([r["accuracy"] for r in runs]),
            "loss": _mean_sd([r["loss"] for r in runs])}


def measure_data_set(data_set: str, seeds: list[int], work_dir: Path) -> dict:
    """The network and the best baseline on one data set over ``seeds``."""
    network, baselines = [], {}
    for seed in seeds:
        cfg = with_changes(default_config(data_set, seed, work_dir),
                           {"evaluation.baselines": ALL_BASELINES})
        result = run(cfg, work_dir / f"{data_set}-seed{seed}")
        network.append(result.metrics["test"])
        for row in result.metrics["baselines"]:
            if "test" in row:
                baselines.setdefault(row["name"], []).append(row["test"])
    scored = {name: _summary(runs) for name, runs in baselines.items()
              if len(runs) == len(seeds)}
    best = max(scored, key=lambda name: scored[name]["accuracy"]["mean"])
    return {"data": data_set, "train_examples": result.metrics["data"]["split_sizes"]["train"],
            "network": _summary(network), "best_baseline": {"name": best, **scored[best]},
            "baselines": scored}


def run_tabular_defaults(seeds: list[int], run_dir: Path) -> dict:
    """Every data set of the suite; runs are kept under run_dir/tabular_defaults."""
    work_dir = run_dir / "tabular_defaults"
    work_dir.mkdir(parents=True, exist_ok=True)
    return {"seeds": list(seeds),
            "rows": [measure_data_set(name, seeds, work_dir) for name in DATA_SETS]}
