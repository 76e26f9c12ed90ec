"""The tune stage: ``run_search(cfg, search_dir) -> SearchResult`` and ``retrain_best``.

A search directory (``runs/tune-<algorithm>-<data>-<model>-<hash>/`` unless
``--run-dir``) holds::

    config.yaml                  the resolved search config (space in canonical form)
    oracle/                      KerasTuner's project: oracle.json, trial_*/trial.json
    trials/<id>/                 one `bigmodel train` run directory per trial
    tensorboard/                 the HParams experiment (tensorboard --logdir <search>)
    results.csv, results.md      the trial table
    objective.png                objective per trial and best so far
    best_config.yaml             the best trial's config
    best-<id>/                   --retrain-best: the best config trained and exported
    tracking.json                with tracking.backend set: the search's tracker run

Running the same command again resumes: finished trials are kept, none is retrained, and
only ``fresh=True`` (``--fresh``) deletes the directory and starts over. A directory made
by a different config is refused with the keys that differ; keys that change no trial may
differ (pipeline and ``none`` keys, bigmodel_tf.config.effects: ``tune.max_trials`` may
grow, which extends the search).

With ``tracking.backend`` set, the search is one tracker run (created before the first
trial, reopened on resume) and every trial a run nested under it; the search's run gets
the best objective, the number of completed trials and the SEARCH_FILES.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bigmodel_tf.config import (
    RUN_EFFECTS,
    ExperimentConfig,
    differences,
    from_dict,
    keys_with,
    read_yaml,
    save_config,
    select,
    to_dict,
)
from bigmodel_tf.errors import RunDirError, UserError
from bigmodel_tf.experiments import RunResult, run
from bigmodel_tf.tracking import Tracker, default_experiment, recorded_run_id
from bigmodel_tf.tracking import start as start_tracker
from bigmodel_tf.training.model_choice import resolve_auto_model
from bigmodel_tf.training.run_dir import RUNS_ROOT
from bigmodel_tf.tuning import hparams
from bigmodel_tf.tuning.oracles import build_oracle
from bigmodel_tf.tuning.results import best_row, write_results
from bigmodel_tf.tuning.settings import resolve_tune
from bigmodel_tf.tuning.space import base_values, to_hyperparameters
from bigmodel_tf.tuning.tuner import ORACLE_DIR, BigmodelTuner

log = logging.getLogger("bigmodel_tf.tuning")

# The effects of the keys that may differ when a search resumes: they change no trial.
RESUMABLE_EFFECTS = ("pipeline", "none")
# The files of a search sent to its tracker run (those that exist).
SEARCH_FILES = ("config.yaml", "results.csv", "results.md", "objective.png", "best_config.yaml")


class SearchError(UserError):
    """The search cannot go on (e.g. too many trials in a row failed)."""


@dataclass
class SearchResult:
    """What a search produced: its directory, role, trial rows and best row."""

    search_dir: Path
    role: str
    rows: list[dict] = field(default_factory=list)
    best: dict | None = None


def tune_hash(cfg: ExperimentConfig, *ignored: str) -> str:
    """A short hash of the keys a search's trials depend on (those of config_hash and the
    ``search`` keys of the tune section), minus the tune keys named in ``ignored``."""
    keys = keys_with(*RUN_EFFECTS, "search") - {f"tune.{name}" for name in ignored}
    blob = json.dumps(select(to_dict(cfg), keys), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def resolve_search_dir(cfg: ExperimentConfig, run_dir: str | Path | None = None) -> Path:
    """``--run-dir`` if given, else ``runs/tune-<algorithm>-<data>-<model>-<hash>``."""
    if run_dir:
        return Path(run_dir)
    name = f"tune-{cfg.tune.algorithm}-{cfg.data.name}-{cfg.model.name}"
    return RUNS_ROOT / f"{name}-{tune_hash(cfg, 'max_trials')}"


def prepare_search_dir(cfg: ExperimentConfig, search_dir: Path, fresh: bool) -> None:
    """Start, resume or (``fresh``) restart the search directory; save the config."""
    config_file = search_dir / "config.yaml"
    is_search = config_file.exists() and (search_dir / ORACLE_DIR).exists()
    leftovers = []
    if search_dir.exists():  # workers started before the chief may have made oracle/
        leftovers = [p for p in search_dir.iterdir() if p.name != ORACLE_DIR]
        leftovers += list(search_dir.glob(f"{ORACLE_DIR}/oracle.json"))
    if leftovers and not is_search:
        raise RunDirError(f"--run-dir {search_dir}: exists and is not a search directory; "
                          "choose a new or empty directory")
    if is_search and fresh:
        log.info("--fresh: deleting the search in %s", search_dir)
        shutil.rmtree(search_dir)
    elif is_search:
        try:
            saved = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            raise RunDirError(
                f"{config_file}: unreadable; use --fresh or a new --run-dir"
            ) from None
        diffs = differences(saved, to_dict(cfg), ignore=RESUMABLE_EFFECTS)
        if diffs:
            raise RunDirError(
                f"{search_dir}: holds a search with a different config ({'; '.join(diffs[:5])}); "
                "use --fresh to start over or --run-dir with a new directory"
            )
        log.info("resuming the search in %s", search_dir)
    search_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, config_file)


def run_search(cfg: ExperimentConfig, search_dir: Path, fresh: bool = False,
               role: str = "local") -> SearchResult:
    """Run (or resume) the configured search; the chief or a local search writes results."""
    cfg = resolve_tune(resolve_auto_model(cfg))  # the objective follows the data's task
    if role == "worker":
        if fresh:
            raise UserError("--fresh: only the chief (or a local search) can start over")
    else:
        prepare_search_dir(cfg, search_dir, fresh)
    # the tracker's run before any trial; a worker's trials nest under the chief's run
    tracker = Tracker() if role == "worker" else start_tracker(
        cfg.tracking, search_dir, run_name=search_dir.name, params=to_dict(cfg),
        default_experiment=default_experiment(cfg.data.name, cfg.model.name))
    with tracker:
        tracker.write_record()
        space = cfg.tune.space
        oracle = build_oracle(cfg.tune, cfg.seed, to_hyperparameters(space, base_values(cfg)))
        parent = recorded_run_id(search_dir) if role == "worker" else tracker.run_id
        tuner = BigmodelTuner(cfg, search_dir, oracle, tracking_parent=parent)
        if role != "worker":
            experiment_dir = search_dir / "tensorboard"
            if not experiment_dir.exists():
                hparams.write_experiment(experiment_dir, space, cfg.tune.objective,
                                         cfg.tune.max_epochs)
            tuner.save()  # from now on a rerun reloads this search, whatever happens
        try:
            tuner.search()
        except RuntimeError as exc:
            if "consecutive failures" not in str(exc):
                raise
            raise SearchError(f"tune: stopped after {cfg.tune.max_consecutive_failures} "
                              f"failed trials in a row; the last: {tuner.last_failure}") from None
        if role == "worker":
            return SearchResult(search_dir, role)
        rows = write_results(cfg, search_dir, tuner.oracle)
        best = best_row(cfg.tune, rows)
        tracker.finish(_search_metrics(rows, best), [search_dir / f for f in SEARCH_FILES],
                       {"bigmodel.best_trial": best["trial"]} if best else {})
    return SearchResult(search_dir, role, rows, best)


def _search_metrics(rows: list[dict], best: dict | None) -> dict:
    """The search's final numbers for its tracker run: trials completed, best objective."""
    done = sum(row["objective"] is not None for row in rows)
    return {"trials_completed": done, **({"best_objective": best["objective"]} if best else {})}


def retrain_best(found: SearchResult) -> RunResult:
    """Train (and export, as configured) the best config into ``<search>/best-<trial id>``
    (tracked as a run nested under the search's, like its trials)."""
    if found.best is None:
        raise SearchError(f"{found.search_dir}: no trial completed; nothing to retrain")
    cfg = from_dict(read_yaml(found.search_dir / "best_config.yaml"))
    return run(cfg, found.search_dir / f"best-{found.best['trial']}",
               tracking_parent=recorded_run_id(found.search_dir))
