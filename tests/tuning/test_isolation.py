"""Trials do not leak memory into each other (keras-tuner#873).

Each of 20 trials really builds, compiles and fits the project's model on its tf.data
pipeline (the part whose traced graphs leak), through the real tuner and
``isolated_trial``; only the evaluation and files of ``run_train`` are left out so the
test stays short (the README gives the same measurement with full ``run_train`` trials).
RSS is read at the start of every trial, after the previous one's clean-up.
"""

from bigmodel_tf.data import build_dataset, load_splits
from bigmodel_tf.models import build_model
from bigmodel_tf.training import TrainResult, compile_model
from bigmodel_tf.tuning import tuner as tuner_module
from bigmodel_tf.tuning.isolation import _gradient_registry
from bigmodel_tf.tuning.search import run_search
from tests.tuning.conftest import tune_config


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def test_memory_stays_flat_over_20_trials(tmp_path, monkeypatch):
    memory, registry_sizes = [], []

    def fit_trial(cfg, run_dir):
        memory.append(rss_mb())
        registry_sizes.append(len(_gradient_registry()))
        splits = load_splits(cfg)
        model = build_model(cfg, splits.spec)
        compile_model(cfg, model, steps_per_epoch=4)
        history = model.fit(build_dataset(cfg, "train"), epochs=cfg.train.epochs, verbose=0)
        metrics = {"val": {"accuracy": float(history.history["accuracy"][-1])},
                   "epochs_run": cfg.train.epochs}
        run_dir.mkdir(parents=True, exist_ok=True)
        return TrainResult(run_dir, metrics)

    monkeypatch.setattr(tuner_module, "run_train", fit_trial)
    cfg = tune_config("data.name=iris", "model.name=mlp", "tune.max_trials=20",
                      "tune.max_epochs=1", "tune.space.data.batch_size=null",
                      "tune.space.model.dropout=null")
    result = run_search(cfg, tmp_path / "search")
    assert len(result.rows) == 20 and all(r["status"] == "COMPLETED" for r in result.rows)
    growth = memory[-1] - memory[4]  # after warm-up (first traces, caches)
    print(f"RSS at the start of each trial (MB): {[round(m) for m in memory]}; "
          f"growth over trials 5-20: {growth:.1f} MB")
    assert growth < 15  # clear_session + gc alone: ~9.5 MB per trial (143 MB measured)
    assert len(set(registry_sizes)) == 1  # no gradient function survives its trial
