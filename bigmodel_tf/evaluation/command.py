"""``bigmodel evaluate --run RUN_DIR [--set data.*/evaluation.* ...] [--out DIR]``.

Re-evaluates a finished run, read and checked by ``finished_run.RunDir``: its model.keras
(safe mode) and the data its config names, with ``--set`` overrides of data.* keys (new
data: the same features and classes are required) and evaluation.* keys (thresholds,
baselines, data-size curve, ...); the run's cross-validation folds and data-size
fractions come finished from the experiments layer (experiments/evaluate.py).
Output goes into the run directory itself when the data is the run's own (metrics.json
keeps its training entries; the report and plots are rewritten), else into ``--out`` or
``RUN_DIR/evaluations/<data>-<hash>/``, where the fit diagnosis stays the training run's.
That folder must be new, empty or one that bigmodel evaluate made (its ownership marker,
bigmodel_tf/io.py); anything else is refused before any work.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bigmodel_tf import remote_run
from bigmodel_tf.config import config_hash, save_config, to_dict, with_changes
from bigmodel_tf.data import load_splits
from bigmodel_tf.evaluation.run_files import evaluation_config
from bigmodel_tf.evaluation.stage import EVALUATION_KEYS, evaluate
from bigmodel_tf.evaluation.subruns import NO_SUBRUNS, SubRuns
from bigmodel_tf.finished_run import RunDir
from bigmodel_tf.io import check_claimable, claim_dir, write_json

log = logging.getLogger("bigmodel_tf.evaluation")
KIND = "evaluate"  # the owner of --out folders (bigmodel_tf/io.py)


def output_dir(run_dir: Path, run_cfg, cfg, out: Path | None) -> tuple[Path, bool]:
    """(--out, or the run itself for its own data, else RUN/evaluations/<data>-<hash>;
    whether that is the run itself, evaluated on its own data)."""
    own_data = to_dict(cfg.data) == to_dict(run_cfg.data)
    if out is not None:
        return out, own_data and out.resolve() == run_dir.resolve()
    if own_data:
        return run_dir, True
    return run_dir / "evaluations" / f"{cfg.data.name}-{config_hash(cfg)[:8]}", False


def evaluate_run(run: RunDir, overrides: list[str], out: Path | None = None,
                 subruns: SubRuns = NO_SUBRUNS) -> tuple[Path, dict]:
    """Evaluate a checked finished run (see the module docstring); return the output dir
    and metrics. Evaluating the run's own data in place needs that data unchanged;
    ``subruns`` (its folds and fractions) are summarized only then."""
    run_cfg = run.config
    cfg = evaluation_config(run_cfg, overrides)
    out_dir, in_place = output_dir(run.path, run_cfg, cfg, out)
    if in_place:
        run.check_data_unchanged()
    else:
        check_claimable(out_dir, KIND)
    model = run.load_verified_model()
    splits = load_splits(cfg)
    run.check_data(cfg.data, splits.spec)
    previous = run.metrics
    fit_metrics = None
    if not in_place:
        # Training analyses belong to the run; the diagnosis stays the training run's.
        cfg = with_changes(cfg, {"train.cv_folds": 0, "evaluation.data_size_fractions": []})
        subruns = NO_SUBRUNS
        claim_dir(out_dir, KIND)
        save_config(cfg, out_dir / "config.yaml")
        fit_metrics = {s: previous[s] for s in ("train", "val") if s in previous} or None
    log.info("evaluating %s on data.name=%s into %s", run.path, cfg.data.name, out_dir)
    result = evaluate(cfg, out_dir, model, splits, run.history, fit_metrics, subruns)
    if in_place:  # keep the training stage's entries, replace the evaluation's
        metrics = {**{k: v for k, v in previous.items() if k not in EVALUATION_KEYS}, **result}
    else:
        metrics = {**result, "evaluated_run": remote_run.shown(run.path)}
    write_json(out_dir / "metrics.json", metrics)
    return out_dir, metrics
