"""The train stage: ``run_train(cfg, run_dir) -> TrainResult``.

Reads the config and the data, builds the model under the chosen strategy, compiles and
fits it in one place (multi-worker runs train in custom_loop.py, since Keras 3's fit fails
there), then writes the run directory (DESIGN.md): config.yaml,
data_spec.json, history.csv, checkpoints/, tensorboard/, model.keras and, last,
metrics.json, whose presence marks the run finished. Exports the TF Serving SavedModel
when ``export.enabled``.
"""

from __future__ import annotations

import csv
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import keras

from bigmodel_tf.config import ExperimentConfig, replace, save_config
from bigmodel_tf.data import build_dataset, load_splits
from bigmodel_tf.evaluation.stage import run_evaluation
from bigmodel_tf.export import export_for_config
from bigmodel_tf.export.manifest import write_manifest
from bigmodel_tf.models import build_model
from bigmodel_tf.training.backup import remove_backup
from bigmodel_tf.training.callbacks import ThroughputMeter, build_callbacks
from bigmodel_tf.training.checkpoint_io import writes_landed
from bigmodel_tf.training.custom_loop import ReplicaValidation, fit_distributed, local_copy
from bigmodel_tf.training.doctor import log_preflight
from bigmodel_tf.training.optim import build_optimizer
from bigmodel_tf.training.run_dir import read_json, run_state, save_model, write_json
from bigmodel_tf.training.runtime import configure_runtime, is_multi_worker
from bigmodel_tf.training.workers import for_this_worker

log = logging.getLogger("bigmodel_tf.training")


@dataclass
class TrainResult:
    """What a finished run produced: its directory, metrics and (if trained now) model."""

    run_dir: Path
    metrics: dict
    model: keras.Model | None = None
    export_path: Path | None = None
    resumed: bool = False
    already_finished: bool = False
    history: list[dict] = field(default_factory=list)


def _epoch_rows(history_csv: Path) -> list[dict]:
    """Rows of history.csv, one per epoch (the last row wins if a resume repeated one)."""
    if not history_csv.exists():
        return []
    with history_csv.open(newline="", encoding="utf-8") as handle:
        rows = {int(row["epoch"]): row for row in csv.DictReader(handle) if row.get("epoch")}
    return [rows[e] for e in sorted(rows)]


def _verbosity(cfg: ExperimentConfig) -> int:
    """Keras verbosity: a progress bar on a terminal, one line per epoch otherwise."""
    if cfg.train.verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return cfg.train.verbose


def compile_model(cfg: ExperimentConfig, model: keras.Model, steps_per_epoch: int) -> None:
    """Compile ``model`` with the configured optimizer, loss and metrics (the one place)."""
    model.compile(
        optimizer=build_optimizer(cfg, steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=cfg.runtime.jit_compile,
        steps_per_execution=cfg.runtime.steps_per_execution,
    )


def _steps_per_epoch(dataset, fallback_examples: int, global_batch: int) -> int:
    """Batches per epoch from the dataset's cardinality, else from the example count."""
    cardinality = int(dataset.cardinality())
    return cardinality if cardinality > 0 else math.ceil(fallback_examples / global_batch)


def fit_inputs(train_ds, val_ds=None) -> dict:
    """``model.fit``'s data arguments: each split repeated, with its batches per pass.

    Keras then keeps one iterator per split for the whole fit instead of building one per
    epoch (12 ms of every digits epoch went to that), and the prefetch runs on into the
    next epoch. A pass is still one epoch, with its own order (data/order.py counts
    passes). A split whose size tf.data cannot tell is passed as it is.
    """
    inputs = {"x": train_ds}
    steps = int(train_ds.cardinality())
    if steps > 0:
        inputs.update(x=train_ds.repeat(), steps_per_epoch=steps)
    if val_ds is not None:
        val_steps = int(val_ds.cardinality())
        if val_steps > 0:
            inputs.update(validation_data=val_ds.repeat(), validation_steps=val_steps)
        else:
            inputs.update(validation_data=val_ds)
    return inputs


def run_train(cfg: ExperimentConfig, run_dir: Path) -> TrainResult:
    """Train the configured model into ``run_dir`` (resuming it if unfinished)."""
    cfg, run_dir = for_this_worker(cfg, run_dir)  # non-chief workers write apart
    state = run_state(cfg, run_dir)
    if state == "finished":
        log.info("%s already finished; not retraining (--force-new-run starts over)", run_dir)
        return TrainResult(run_dir, read_json(run_dir / "metrics.json"), already_finished=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")

    if cfg.data.cache == "file" and not cfg.data.cache_dir:
        # Not saved in config.yaml: the default location follows the run directory.
        cfg = replace(cfg, [f"data.cache_dir={run_dir / 'cache'}"])
    strategy = configure_runtime(cfg)
    splits = load_splits(cfg)
    splits.spec.save(run_dir / "data_spec.json")
    global_batch = cfg.data.batch_size * strategy.num_replicas_in_sync
    log_preflight(cfg, strategy, len(splits.train.y))
    with strategy.scope():
        train_ds = build_dataset(cfg, "train")
        steps = _steps_per_epoch(train_ds, len(splits.train.y), global_batch)
        model = build_model(cfg, splits.spec)
        compile_model(cfg, model, steps)
    log.info(
        "training %s (%s parameters) on %d examples: %d steps/epoch at global batch %d",
        cfg.model.name, f"{model.count_params():,}", len(splits.train.y), steps, global_batch,
    )
    # Keras' validation on several replicas would count the padding of the val batches
    # (unpadded, a replica gets an uneven or empty batch): the loop's test step instead.
    one_replica = strategy.num_replicas_in_sync == 1
    replica_validation = (
        None if one_replica or is_multi_worker(strategy) else ReplicaValidation(cfg, strategy)
    )
    callbacks = build_callbacks(cfg, run_dir, examples_per_epoch=steps * global_batch,
                                validation=replica_validation)
    with writes_landed(callbacks):  # the last snapshot is on disk, also after an error
        if is_multi_worker(strategy):
            # Keras 3's fit fails under this strategy (keras-team/keras#20585, DESIGN.md).
            history = fit_distributed(cfg, strategy, model, steps, callbacks, _verbosity(cfg))
            model = local_copy(model)
        else:
            history = model.fit(
                **fit_inputs(train_ds, build_dataset(cfg, "val") if one_replica else None),
                epochs=cfg.train.epochs,
                callbacks=callbacks, verbose=_verbosity(cfg),
                shuffle=False,  # the pipeline orders the data by (seed, epoch): data/order.py
            )
    meter = next(c for c in callbacks if isinstance(c, ThroughputMeter))
    save_model(model, run_dir / "model.keras")
    write_manifest(run_dir, cfg, ["model.keras"])  # sha256 checked on load (loading.py)

    rows = _epoch_rows(run_dir / "history.csv")
    metrics = {
        **run_evaluation(cfg, model, splits, run_dir),  # plots/, report.md, TensorBoard
        "epochs_run": len(rows),
        "train_examples_per_sec": round(meter.examples_per_sec, 1),
        "replicas": strategy.num_replicas_in_sync,
        "strategy": type(strategy).__name__,
        "parameters": int(model.count_params()),
    }
    export_path = export_for_config(cfg, model, splits.spec, examples=splits.test.x)
    if export_path:
        metrics["export_path"] = str(export_path)
    write_json(run_dir / "metrics.json", metrics)
    remove_backup(run_dir)  # kept until now, so a crash above resumes without retraining
    return TrainResult(
        run_dir, metrics, model, export_path, resumed=state == "resume", history=history.history
    )

