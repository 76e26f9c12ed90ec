"""The tuner: a KerasTuner ``Tuner`` whose trials are ``bigmodel train`` runs.

``run_trial`` turns the trial's hyperparameter values into typed changes of the search
config and runs it as the experiments layer's ``run`` — the same strategy, tf.data
pipeline, callbacks, early stopping, checkpoints, evaluation and TensorBoard logs as
``bigmodel train`` — into its own run directory ``<search>/trials/<trial id>`` (a further
execution ``n`` of the trial goes to ``<trial id>.<n>``, seeded ``seed + n``). Each trial
runs inside ``isolated_trial`` (memory stays flat), and its hyperparameters and final
metrics go to TensorBoard's HParams plugin (and, with ``tracking.backend`` set, to a
tracker run nested under the search's).

Resume: KerasTuner reloads the oracle and re-queues the trials that were running; a
re-queued trial's run directory resumes from its last finished epoch (BackupAndRestore)
instead of restarting (keras-team/keras-tuner#439), and a trial whose training had
finished is not retrained. The Hyperband oracle's ``tuner/epochs`` sets a trial's epochs;
each trial trains from scratch (a promoted configuration is retrained for its larger
budget), so every trial is reproducible from its own config.yaml.
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path

import keras_tuner
from keras_tuner.engine.trial import TrialStatus

from bigmodel_tf.compat import SharedTunerStateFile, is_tuner_worker, requeue_running_trials
from bigmodel_tf.config import ExperimentConfig, TuneConfig, with_changes
from bigmodel_tf.errors import ConfigError, UserError
from bigmodel_tf.experiments import run as run_experiment
from bigmodel_tf.experiments.settings import METRICS_ONLY
from bigmodel_tf.io import read_json, write_json
from bigmodel_tf.tuning import hparams
from bigmodel_tf.tuning.isolation import isolated_trial
from bigmodel_tf.tuning.settings import metric_value

log = logging.getLogger("bigmodel_tf.tuning")

ORACLE_DIR = "oracle"  # KerasTuner's project folder: oracle.json, trial_*/trial.json
TRIALS_DIR = "trials"  # one run directory per trial execution
TRIAL_RECORD = "tune_trial.json"  # written last into a finished trial's run directory
IDLE_WAIT_SECONDS = 1.0  # between asking a busy oracle (Hyperband, evolution) again


class ObjectiveNotFoundError(keras_tuner.errors.FatalError, ConfigError):
    """The objective is not in metrics.json: stops the search (every trial would fail)."""


def trial_epochs(tune: TuneConfig, values: dict) -> int:
    """A trial's epochs: Hyperband's ``tuner/epochs``, else ``tune.max_epochs``."""
    return int(values.get("tuner/epochs", tune.max_epochs))


def trial_changes(tune: TuneConfig, values: dict) -> dict:
    """The typed changes (dotted key -> value) that turn the search config into a trial's."""
    searched = {key: value for key, value in values.items() if not key.startswith("tuner/")}
    return {**searched, "train.epochs": trial_epochs(tune, values)}


def trial_config(cfg: ExperimentConfig, values: dict, execution: int = 0) -> ExperimentConfig:
    """The training config of one trial execution (METRICS_ONLY; a seed per execution)."""
    return with_changes(cfg, {**trial_changes(cfg.tune, values), **METRICS_ONLY,
                              "seed": (cfg.seed + execution) % 2**31})


def trial_run_dir(search_dir: Path, trial_id: str, execution: int = 0) -> Path:
    """``<search>/trials/<trial id>``, or ``<trial id>.<n>`` for execution n >= 1."""
    name = trial_id if execution == 0 else f"{trial_id}.{execution}"
    return Path(search_dir) / TRIALS_DIR / name


class BigmodelTuner(SharedTunerStateFile, keras_tuner.Tuner):
    """Runs each trial as an experiments ``run`` of the search config with its values."""

    def __init__(self, cfg: ExperimentConfig, search_dir: Path, oracle: keras_tuner.Oracle,
                 tracking_parent: str | None = None):
        self.cfg = cfg
        self.search_dir = Path(search_dir)
        self.tracking_parent = tracking_parent  # the search's tracker run: trials nest in it
        self.last_failure: str | None = None
        self._waiting = False
        super().__init__(
            oracle=oracle, directory=str(search_dir), project_name=ORACLE_DIR,
            executions_per_trial=cfg.tune.executions_per_trial, overwrite=False,
        )
        self.oracle.verbose = 0  # on_trial_end logs one line per trial instead

    def reload(self):
        """KerasTuner's reload, plus re-queueing trials cut before the oracle saved them."""
        super().reload()
        if not is_tuner_worker(self):
            requeue_running_trials(self.oracle)

    def pre_create_trial(self):
        """Wait a moment before asking again when the oracle had no trial to give."""
        if self._waiting:
            time.sleep(IDLE_WAIT_SECONDS)
        self._waiting = True

    def on_trial_begin(self, trial):
        """Log the trial's values."""
        self._waiting = False
        shown = {k: v for k, v in trial.hyperparameters.values.items()
                 if not k.startswith("tuner/") or k == "tuner/epochs"}
        log.info("tuner %s: trial %s %s", self.tuner_id, trial.trial_id, shown)

    def run_trial(self, trial, *args, **kwargs) -> dict:
        """Train every execution of the trial; the objective is their mean."""
        runs = [self._execute(trial, e) for e in range(self.executions_per_trial)]
        return {
            self.oracle.objective.name: statistics.fmean(r[0] for r in runs),
            "epochs": float(sum(r[1] for r in runs)),
            "seconds": float(sum(r[2] for r in runs)),
        }

    def _execute(self, trial, execution: int) -> tuple[float, int, float]:
        """One execution: (objective value, epochs run, seconds)."""
        values = trial.hyperparameters.values
        run_dir = trial_run_dir(self.search_dir, trial.trial_id, execution)
        started, clock = time.time(), time.perf_counter()
        try:
            cfg = trial_config(self.cfg, values, execution)
            with isolated_trial():
                metrics = run_experiment(cfg, run_dir,
                                         tracking_parent=self.tracking_parent).metrics
        except UserError as exc:  # an impossible combination, a diverged run, ...
            raise keras_tuner.errors.FailedTrialError(f"trial {trial.trial_id}: {exc}") from None
        objective = self.oracle.objective.name
        try:
            value = metric_value(metrics, objective)
        except KeyError:
            raise ObjectiveNotFoundError(
                f"tune.objective: {objective!r} is not in metrics.json of {run_dir}"
            ) from None
        if value is None:
            raise keras_tuner.errors.FailedTrialError(
                f"trial {trial.trial_id}: {objective} is not a finite number in metrics.json")
        return value, int(metrics["epochs_run"]), self._record(
            trial, run_dir, metrics, started, time.perf_counter() - clock)

    def _record(self, trial, run_dir: Path, metrics: dict, started: float,
                seconds: float) -> float:
        """HParams once per run directory; the seconds of its first completed training."""
        record = run_dir / TRIAL_RECORD
        if record.exists():  # trained by an earlier, interrupted process
            return float(read_json(record)["seconds"])
        values = {k: v for k, v in trial.hyperparameters.values.items()
                  if not k.startswith("tuner/")}
        values[hparams.EPOCHS] = trial_epochs(self.cfg.tune, trial.hyperparameters.values)
        hparams.write_trial(run_dir / "tensorboard", values, trial.trial_id, metrics,
                            self.oracle.objective.name, started)
        write_json(record, {"trial_id": trial.trial_id, "seconds": round(seconds, 2)})
        return seconds

    def on_trial_end(self, trial):
        """Report the trial to the oracle, then log its result and the best so far."""
        if trial.status != TrialStatus.COMPLETED and trial.message:
            # KerasTuner keeps the traceback; its last line is "SomeError: the reason".
            self.last_failure = trial.message.strip().splitlines()[-1].split(": ", 1)[-1]
        super().on_trial_end(trial)
        done = self.oracle.get_trial(trial.trial_id)
        best = [t for t in self.oracle.get_best_trials(1) if t.status == TrialStatus.COMPLETED]
        best_text = f"{best[0].score:.4f} (trial {best[0].trial_id})" if best else "none"
        result = (f"{self.oracle.objective.name} {done.score:.4f}" if done.score is not None
                  else f"({self.last_failure})")
        log.info("tuner %s: trial %s %s: %s; best so far %s", self.tuner_id, trial.trial_id,
                 done.status.lower(), result, best_text)
