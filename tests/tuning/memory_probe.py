"""Run TRIALS real tuning trials in this process and print the RSS at the start of each (JSON).

Started by tests/tuning/test_isolation.py in a fresh interpreter, as ``bigmodel tune``
runs, so what earlier tests left in the pytest process does not blur the measurement.
Each trial really builds, compiles and fits the project's model on its tf.data pipeline
(the part whose traced graphs leak), through the real tuner and ``isolated_trial``; only
the evaluation and files of a full run are left out so the probe stays short.
"""

import json
import sys
from pathlib import Path

from bigmodel_tf.compat import gradient_registry
from bigmodel_tf.data import build_dataset, load_splits
from bigmodel_tf.experiments import RunResult
from bigmodel_tf.models import build_model
from bigmodel_tf.training import compile_model
from bigmodel_tf.tuning import tuner as tuner_module
from bigmodel_tf.tuning.search import run_search
from tests.tuning.conftest import tune_config

TRIALS = 12  # the first 4 warm up (traces, caches); the growth over the rest is measured


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def probe(search_dir: Path) -> dict:
    """RSS and gradient-registry size at the start of each of TRIALS trials, and their status."""
    memory, registry_sizes = [], []

    def fit_trial(cfg, run_dir, tracking_parent=None):
        memory.append(rss_mb())
        registry_sizes.append(len(gradient_registry()))
        splits = load_splits(cfg)
        model = build_model(cfg.model, splits.spec)
        compile_model(model, cfg.train, cfg.runtime, cfg.task, splits.spec.task,
                      steps_per_epoch=4)
        train = build_dataset(splits, "train", cfg.data, cfg.seed, cfg.data.batch_size)
        history = model.fit(train, epochs=cfg.train.epochs, verbose=0)
        metrics = {"val": {"accuracy": float(history.history["accuracy"][-1])},
                   "epochs_run": cfg.train.epochs}
        run_dir.mkdir(parents=True, exist_ok=True)
        return RunResult(run_dir, metrics)

    tuner_module.run_experiment = fit_trial
    cfg = tune_config("data.name=iris", "model.name=mlp", f"tune.max_trials={TRIALS}",
                      "tune.max_epochs=1", "tune.space.data.batch_size=null",
                      "tune.space.model.dropout=null")
    result = run_search(cfg, search_dir)
    return {"memory": memory, "registry_sizes": registry_sizes,
            "statuses": [row["status"] for row in result.rows]}


if __name__ == "__main__":
    print(json.dumps(probe(Path(sys.argv[1]))))
