"""``bigmodel evaluate --run RUN_DIR [--set data.*/evaluation.* ...] [--out DIR]``.

Re-evaluates a trained run: loads its model.keras (safe mode) and the data its config
names, with ``--set`` overrides of data.* keys (new data: the same features and classes
are required) and evaluation.* keys (thresholds, baselines, data-size curve, ...).
Output goes into the run directory itself when the data is the run's own (metrics.json
keeps its training entries; the report and plots are rewritten), else into ``--out`` or
``RUN_DIR/evaluations/<data>-<hash>/``, where the fit diagnosis stays the training run's.
That folder must be new, empty or one that bigmodel evaluate made (its ownership marker,
bigmodel_tf/io.py); anything else is refused before any work.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import bigmodel_tf.models  # noqa: F401  (registers the zoo's custom layers for loading)
from bigmodel_tf.config import config_hash, replace, save_config, to_dict
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import ArtifactError, DataError, RunDirError
from bigmodel_tf.evaluation.history import read_history
from bigmodel_tf.evaluation.run_files import check_run_dir, evaluation_config, read_run_config
from bigmodel_tf.evaluation.stage import EVALUATION_KEYS, run_evaluation
from bigmodel_tf.io import check_claimable, claim_dir, read_json, write_json
from bigmodel_tf.loading import load_keras_model

log = logging.getLogger("bigmodel_tf.evaluation")
KIND = "evaluate"  # the owner of --out folders (bigmodel_tf/io.py)


def load_run_model(run_dir: Path):
    """The run's trained Keras model; a corrupt or foreign file is a RunDirError."""
    try:
        return load_keras_model(run_dir / "model.keras")  # manifest + safe-mode checks
    except (ArtifactError, OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise RunDirError(f"--run {run_dir}: model.keras cannot be loaded ({reason})") from None


def read_run_spec(run_dir: Path) -> DataSpec:
    """The data spec the model was trained with; an unreadable one is a RunDirError."""
    try:
        return DataSpec.load(run_dir / "data_spec.json")
    except (OSError, ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise RunDirError(f"--run {run_dir}: data_spec.json is unreadable "
                          f"({type(exc).__name__})") from None


def check_compatible(model, run_spec, spec, where: str) -> None:
    """Raise DataError unless the data has the model's features, input shape and classes."""
    if run_spec.feature_names and spec.feature_names != run_spec.feature_names:
        missing = [f for f in run_spec.feature_names if f not in (spec.feature_names or [])]
        extra = [f for f in (spec.feature_names or []) if f not in run_spec.feature_names]
        detail = (f"missing {missing[:5]}, unexpected {extra[:5]}" if missing or extra
                  else "same features in another order")
        raise DataError(f"{where}: the features do not match the model's ({detail})")
    expected = [int(d) for d in model.input_shape[1:]]
    if list(spec.input_shape) != expected:
        raise DataError(f"{where}: examples have shape {spec.input_shape} but the model "
                        f"expects {expected}")
    if spec.class_names != run_spec.class_names:
        raise DataError(f"{where}: classes {spec.class_names} do not match the model's "
                        f"{run_spec.class_names}")


def _output_dir(run_dir: Path, run_cfg, cfg, out: Path | None) -> tuple[Path, bool]:
    """(--out, or the run itself for its own data, else RUN/evaluations/<data>-<hash>;
    whether that is the run itself, evaluated on its own data)."""
    own_data = to_dict(cfg.data) == to_dict(run_cfg.data)
    if out is not None:
        return out, own_data and out.resolve() == run_dir.resolve()
    if own_data:
        return run_dir, True
    return run_dir / "evaluations" / f"{cfg.data.name}-{config_hash(cfg)[:8]}", False


def evaluate_run(run_dir: Path, overrides: list[str], out: Path | None = None) -> tuple[
        Path, dict]:
    """Evaluate a trained run (see the module docstring); return the output dir and metrics."""
    check_run_dir(run_dir)
    run_cfg = read_run_config(run_dir)
    cfg = evaluation_config(run_cfg, overrides)
    run_spec = read_run_spec(run_dir)
    out_dir, in_place = _output_dir(run_dir, run_cfg, cfg, out)
    if not in_place:
        check_claimable(out_dir, KIND)
    model = load_run_model(run_dir)
    splits = load_splits(cfg)
    where = f"data.name={cfg.data.name}" + (f" data.path={cfg.data.path}" if cfg.data.path
                                             else "")
    check_compatible(model, run_spec, splits.spec, where)
    previous = read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").exists() else {}
    fit_metrics = None
    if not in_place:
        # Training analyses belong to the run; the diagnosis stays the training run's.
        cfg = replace(cfg, ["train.cv_folds=0", "evaluation.data_size_fractions=[]"])
        claim_dir(out_dir, KIND)
        save_config(cfg, out_dir / "config.yaml")
        fit_metrics = {s: previous[s] for s in ("train", "val")} if previous else None
    log.info("evaluating %s on data.name=%s into %s", run_dir, cfg.data.name, out_dir)
    result = run_evaluation(cfg, model, splits, out_dir, read_history(run_dir / "history.csv"),
                            fit_metrics=fit_metrics)
    if in_place:  # keep the training stage's entries, replace the evaluation's
        metrics = {**{k: v for k, v in previous.items() if k not in EVALUATION_KEYS}, **result}
    else:
        metrics = {**result, "evaluated_run": str(run_dir)}
    write_json(out_dir / "metrics.json", metrics)
    return out_dir, metrics
