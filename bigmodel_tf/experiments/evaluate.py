"""``bigmodel evaluate`` of a finished run, with the sub-runs its evaluation config asks for.

Evaluating a run in place on its own data summarizes its cross-validation folds and
data-size fractions: the finished ones are reused, those newly asked for
(``--set evaluation.data_size_fractions=[...]``) are run first (runner.py). The
evaluation itself is the evaluation stage's (evaluation/command.py).
"""

from __future__ import annotations

from pathlib import Path

from bigmodel_tf.evaluation.command import evaluate_run, output_dir
from bigmodel_tf.evaluation.run_files import evaluation_config
from bigmodel_tf.evaluation.subruns import NO_SUBRUNS
from bigmodel_tf.experiments.runner import run_subruns
from bigmodel_tf.finished_run import RunDir


def evaluate_finished(run: RunDir, overrides: list[str], out: Path | None = None) -> tuple[
        Path, dict]:
    """Run the sub-runs an in-place evaluation needs, then evaluate ``run``; return the
    output directory and its metrics."""
    cfg = evaluation_config(run.config, overrides)
    subruns = NO_SUBRUNS
    if output_dir(run.path, run.config, cfg, out)[1]:
        subruns = run_subruns(cfg, run.path)
    return evaluate_run(run, overrides, out, subruns)
