"""One run of an experiment: ``run(cfg, run_dir) -> RunResult``.

The runner decides when each stage runs, as Model Garden's train_lib does; the stages
never call each other:

1. place this process (experiments/workers.py); a finished run is returned as it is,
   without retraining (its data must be unchanged);
2. train (training stage) into ``run_dir``; it takes the run directory's lock when it
   starts writing, and the runner keeps that lock until metrics.json is written;
3. train the sub-runs the config asks for (``run_subruns``): each data-size fraction and
   each cross-validation fold is a ``run`` of its own in ``<run>/data_size/fraction_<f>``
   or ``<run>/cv/fold_<k>``, with light settings (no export, baselines, interpretation,
   profiler or nested sub-runs); a finished sub-run is reused, so an interrupted
   cross-validation picks up where it stopped;
4. evaluate (evaluation stage: metrics, figures, report, the sub-runs' summaries);
5. export (export stage, as ``export.enabled`` says);
6. write metrics.json — last: its presence marks the run finished — and delete the
   run's backup, kept until then so that a crash before resumes without retraining.

With ``tracking.backend`` set, the chief's run is tracked (bigmodel_tf.tracking): its
tracker run is created before training (a store that cannot be used fails the run
there), training's callbacks log each epoch, and once metrics.json is written the final
metrics, the TRACKED_FILES and the export version are logged. Sub-runs are not tracked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import yaml

from bigmodel_tf import remote
from bigmodel_tf.config import ExperimentConfig, differences, to_dict, with_changes
from bigmodel_tf.evaluation.stage import evaluate
from bigmodel_tf.evaluation.subruns import SubRuns
from bigmodel_tf.experiments.settings import LIGHT_SETTINGS
from bigmodel_tf.experiments.workers import for_this_worker
from bigmodel_tf.export import export
from bigmodel_tf.finished_run import RunDir
from bigmodel_tf.io import read_json, write_json
from bigmodel_tf.run_lock import keep_lock
from bigmodel_tf.tasks import get_task
from bigmodel_tf.tracking import default_experiment
from bigmodel_tf.tracking import start as start_tracker
from bigmodel_tf.training import train
from bigmodel_tf.training.backup import remove_backup
from bigmodel_tf.training.model_choice import resolve_auto_model
from bigmodel_tf.training.run_dir import run_state

log = logging.getLogger("bigmodel_tf.experiments")

# The files of a finished run sent to the tracker (those that exist).
TRACKED_FILES = ("config.yaml", "metrics.json", "history.csv", "report.md", "plots",
                 "manifest.json")


@dataclass
class RunResult:
    """What a finished run produced: its directory, metrics and (if trained now) model."""

    run_dir: Path
    metrics: dict
    model: keras.Model | None = None
    export_path: Path | str | None = None  # a URL for an export.dir URL
    resumed: bool = False
    already_finished: bool = False
    history: dict[str, list[float]] = field(default_factory=dict)


def _finished(run_dir: Path) -> RunResult:
    """The result of a run that finished earlier (refused if its data changed since)."""
    run = RunDir(run_dir)
    run.check_data_unchanged()
    log.info("%s already finished; not retraining (--force-new-run starts over)", run_dir)
    return RunResult(run_dir, run.metrics, already_finished=True)


def _export_tags(export_path: Path | str | None) -> dict[str, str]:
    """The tracker's tags of the exported SavedModel version (none without an export)."""
    if export_path is None:
        return {}
    return {"bigmodel.export_version": remote.name(export_path),
            "bigmodel.export_path": str(export_path)}


def run(cfg: ExperimentConfig, run_dir: Path, tracking_parent: str | None = None) -> RunResult:
    """Train, evaluate and export the configured experiment in ``run_dir`` (resuming an
    unfinished run, returning a finished one as it is); see the module docstring.
    ``tracking_parent``: the tracker run this one is nested under (a search's)."""
    cfg = resolve_auto_model(cfg)  # config.yaml records the concrete model
    cfg, run_dir = for_this_worker(cfg, run_dir)  # non-chief workers write apart
    if run_state(cfg, run_dir) == "finished":
        return _finished(run_dir)
    # the tracker's run first: a store that cannot be used fails before any training
    tracker = start_tracker(cfg.tracking, run_dir, run_name=run_dir.name, params=to_dict(cfg),
                            default_experiment=default_experiment(cfg.data.name, cfg.model.name),
                            parent=tracking_parent)
    with keep_lock(run_dir), tracker:  # the lock: from training's first write to the end
        trained = train(cfg, run_dir, loggers=tracker.callbacks())
        if trained.finished_elsewhere:
            return _finished(run_dir)
        splits = trained.splits
        subruns = run_subruns(cfg, run_dir)
        metrics = {**evaluate(cfg, run_dir, trained.model, splits, subruns=subruns),
                   **trained.facts}
        export_path = export(cfg, run_dir, trained.model, splits.spec, splits.test)
        if export_path:
            metrics["export_path"] = str(export_path)
        write_json(run_dir / "metrics.json", metrics)
        remove_backup(run_dir)
        tracker.finish(metrics, [run_dir / name for name in TRACKED_FILES],
                       _export_tags(export_path))
    return RunResult(run_dir, metrics, trained.model, export_path, resumed=trained.resumed,
                     history=trained.history)


def subrun_config(cfg: ExperimentConfig, changes: Mapping[str, Any]) -> ExperimentConfig:
    """The main config with LIGHT_SETTINGS and the sub-run's own ``changes`` applied."""
    return with_changes(cfg, {**LIGHT_SETTINGS, **changes})


def _finished_subrun(cfg: ExperimentConfig, run_dir: Path) -> dict | None:
    """metrics.json of a finished sub-run trained with ``cfg`` up to keys that change no
    training (so ``bigmodel evaluate --set evaluation.*`` reuses the sub-runs)."""
    if not (run_dir / "metrics.json").exists():
        return None
    try:
        saved = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None  # run reports the unreadable directory
    diffs = differences(saved, to_dict(cfg), ignore=("evaluation", "search", "pipeline", "none"))
    return None if diffs else read_json(run_dir / "metrics.json")


def run_subrun(cfg: ExperimentConfig, run_dir: Path, changes: Mapping[str, Any]) -> dict:
    """Run (or reuse, if finished) one sub-run of ``cfg`` in ``run_dir``; its metrics.json."""
    sub_cfg = subrun_config(cfg, changes)
    metrics = _finished_subrun(sub_cfg, run_dir) or run(sub_cfg, run_dir).metrics
    headline = get_task(sub_cfg.task.name).headline
    log.info("%s: val %s %.4f, test %s %.4f", run_dir, headline, metrics["val"][headline],
             headline, metrics["test"][headline])
    return metrics


def run_subruns(cfg: ExperimentConfig, run_dir: Path) -> SubRuns:
    """The data-size fractions (``evaluation.data_size_fractions``) and cross-validation
    folds (``train.cv_folds``) of the run in ``run_dir``, each run or reused."""
    fractions = tuple(
        (fraction, run_subrun(cfg, run_dir / "data_size" / f"fraction_{fraction:g}",
                              {"data.train_fraction": fraction}))
        for fraction in sorted(set(cfg.evaluation.data_size_fractions)))
    k = cfg.train.cv_folds if cfg.train.cv_folds > 1 else 0
    folds = tuple(
        (f"cv/fold_{fold}", run_subrun(cfg, run_dir / "cv" / f"fold_{fold}",
                                       {"data.cv_folds": k, "data.cv_fold": fold}))
        for fold in range(k))
    return SubRuns(folds, fractions)
