"""The training stage: ``train(cfg, run_dir) -> TrainResult``.

Reads the config and the data, builds the model under the chosen strategy, compiles and
fits it in one place (multi-worker runs train in custom_loop.py, since Keras 3's fit fails
there). Nothing is written before the config, the data and the model are built and checked;
then, holding the run directory's lock (run_lock.py), it writes config.yaml,
data_spec.json, history.csv, checkpoints/, tensorboard/, model.keras and manifest.json
(with the fingerprint of the data.path files). It returns the model, its splits and the
training facts; evaluating, exporting and marking the run finished (metrics.json) are the
experiments layer's, which decides when each happens.
"""

from __future__ import annotations

import csv
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import keras

from bigmodel_tf.config import ExperimentConfig, config_hash, save_config
from bigmodel_tf.config.sections import RuntimeConfig, TaskConfig, TrainConfig
from bigmodel_tf.data import Splits, build_dataset, load_splits, stream_errors, with_run_cache
from bigmodel_tf.data.fingerprint import data_fingerprint
from bigmodel_tf.manifest import write_manifest
from bigmodel_tf.models import build_model
from bigmodel_tf.run_lock import lock_run_dir
from bigmodel_tf.tasks import get_task
from bigmodel_tf.training.callbacks import ThroughputMeter, build_callbacks
from bigmodel_tf.training.checkpoint_io import writes_landed
from bigmodel_tf.training.custom_loop import ReplicaValidation, fit_distributed, local_copy
from bigmodel_tf.training.doctor import log_preflight
from bigmodel_tf.training.model_choice import resolve_auto_model
from bigmodel_tf.training.optim import build_optimizer
from bigmodel_tf.training.run_dir import run_state, save_model
from bigmodel_tf.training.runtime import configure_runtime, is_multi_worker

log = logging.getLogger("bigmodel_tf.training")


@dataclass
class TrainResult:
    """What training hands the next stages: the model, its data, history and facts.

    ``facts`` are the training entries of metrics.json (epochs_run, throughput, replicas,
    strategy, parameters). ``finished_elsewhere``: another process finished this run
    while this one was building its model, so nothing was trained (no model, no facts).
    """

    run_dir: Path
    model: keras.Model | None
    splits: Splits
    history: dict[str, list[float]] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    resumed: bool = False
    finished_elsewhere: bool = False


def _epoch_rows(history_csv: Path) -> list[dict]:
    """Rows of history.csv, one per epoch (the last row wins if a resume repeated one)."""
    if not history_csv.exists():
        return []
    with history_csv.open(newline="", encoding="utf-8") as handle:
        rows = {int(row["epoch"]): row for row in csv.DictReader(handle) if row.get("epoch")}
    return [rows[e] for e in sorted(rows)]


def _verbosity(verbose: str | int) -> int:
    """Keras verbosity of ``train.verbose``: for "auto", a progress bar on a terminal, one
    line per epoch otherwise."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return verbose


def compile_model(model: keras.Model, train: TrainConfig, runtime: RuntimeConfig,
                  task_cfg: TaskConfig, task_name: str, steps_per_epoch: int) -> None:
    """Compile ``model`` with the optimizer of ``train``/``runtime`` and the loss and metrics
    of its data's task ``task_name`` (the spec's; the one place), ``task_cfg`` choosing the loss."""
    task = get_task(task_name)
    model.compile(
        optimizer=build_optimizer(train, runtime, steps_per_epoch,  # the replicas of
                                  model.distribute_strategy.num_replicas_in_sync),  # its scope
        loss=task.loss(task_cfg, keras),
        metrics=task.compile_metrics(keras),
        jit_compile=runtime.jit_compile,
        steps_per_execution=runtime.steps_per_execution,
    )


def _steps_per_epoch(dataset, fallback_examples: int, global_batch: int) -> int:
    """Batches per epoch from the dataset's cardinality, else from the example count."""
    cardinality = int(dataset.cardinality())
    return cardinality if cardinality > 0 else math.ceil(fallback_examples / global_batch)


def fit_inputs(train_ds, val_ds=None) -> dict:
    """``model.fit``'s data arguments: each split repeated, with its batches per pass.

    Keras then keeps one iterator per split for the whole fit instead of building one per
    epoch (a fixed cost of every epoch), and the prefetch runs on into the
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


def train(cfg: ExperimentConfig, run_dir: Path,
          loggers: Sequence[keras.callbacks.Callback] = ()) -> TrainResult:
    """Train the configured model into ``run_dir`` (resuming it if unfinished).

    Config, data and model are checked before anything is written, so a failed start
    leaves no trace; the run directory is locked from then on (run_lock.py). ``loggers``
    are callbacks that record each epoch's logs elsewhere (the experiment tracker's).
    """
    cfg = resolve_auto_model(cfg)  # config.yaml records the concrete model
    saved_cfg = cfg
    cfg = with_run_cache(cfg, run_dir)  # not saved in config.yaml: it follows the run
    strategy = configure_runtime(cfg.runtime, cfg.train, cfg.seed)
    fingerprint = data_fingerprint(cfg.data)  # before reading: a later change is noticed
    splits = load_splits(cfg)
    global_batch = cfg.data.batch_size * strategy.num_replicas_in_sync
    log_preflight(cfg.data, cfg.train, cfg.runtime, strategy, splits)
    read = partial(build_dataset, splits, data=cfg.data, seed=cfg.seed, global_batch=global_batch)
    with strategy.scope():
        train_ds = read("train", replicas=strategy.num_replicas_in_sync)
        steps = _steps_per_epoch(train_ds, splits.train.size, global_batch)
        model = build_model(cfg.model, splits.spec)
        compile_model(model, cfg.train, cfg.runtime, cfg.task, splits.spec.task, steps)
    with lock_run_dir(run_dir):
        state = run_state(saved_cfg, run_dir)  # another process may have run it meanwhile
        if state == "finished":
            return TrainResult(run_dir, None, splits, finished_elsewhere=True)
        save_config(saved_cfg, run_dir / "config.yaml")
        splits.spec.save(run_dir / "data_spec.json")
        log.info(
            "training %s (%s parameters) on %d examples: %d steps/epoch at global batch %d",
            cfg.model.name, f"{model.count_params():,}", splits.train.size, steps, global_batch,
        )
        # Keras' validation on several replicas would count the padding of the val batches
        # (unpadded, a replica gets an uneven or empty batch): the loop's test step instead.
        one_replica = strategy.num_replicas_in_sync == 1
        replica_validation = (None if one_replica or is_multi_worker(strategy)
                              else ReplicaValidation(strategy, read))
        callbacks = build_callbacks(cfg.train, run_dir, examples_per_epoch=steps * global_batch,
                                    validation=replica_validation,
                                    profile_batches=cfg.evaluation.profile_batches,
                                    loggers=loggers)
        # the last snapshot is on disk, also after an error; a file that breaks the stream
        # is named (data/stream_errors.py)
        with writes_landed(callbacks), stream_errors(cfg.data):
            if is_multi_worker(strategy):
                # Keras 3's fit fails under this strategy (keras-team/keras#20585).
                history = fit_distributed(strategy, model, read, steps, cfg.train.epochs,
                                          callbacks, _verbosity(cfg.train.verbose))
                model = local_copy(model)
            else:
                history = model.fit(
                    **fit_inputs(train_ds, read("val") if one_replica else None),
                    epochs=cfg.train.epochs,
                    callbacks=callbacks, verbose=_verbosity(cfg.train.verbose),
                    shuffle=False,  # the pipeline orders the data by (seed, epoch): data/order.py
                )
        meter = next(c for c in callbacks if isinstance(c, ThroughputMeter))
        save_model(model, run_dir / "model.keras")
        # sha256 checked on load (loading.py, finished_run.py); config hash of config.yaml
        write_manifest(run_dir, config_hash(saved_cfg),
                       ["model.keras", "data_spec.json", "history.csv"],
                       data=fingerprint)
    facts = {
        "epochs_run": len(_epoch_rows(run_dir / "history.csv")),
        "train_examples_per_sec": round(meter.examples_per_sec, 1),
        "replicas": strategy.num_replicas_in_sync,
        "strategy": type(strategy).__name__,
        "parameters": int(model.count_params()),
    }
    return TrainResult(run_dir, model, splits, history.history, facts, resumed=state == "resume")
