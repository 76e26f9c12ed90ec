"""Evaluation stage: metrics, plots, fit diagnosis, baselines, interpretation, reports.

Entry points (imported from their modules, so that importing this package stays light
and ``bigmodel evaluate`` can check a run directory before TensorFlow loads):

* ``stage.evaluate(cfg, run_dir, model, splits, ...)``: the stage's entry, called by the
  experiments layer after training; writes plots/, report.md and TensorBoard
  images/text, summarizes the sub-runs it is given (``subruns.SubRuns``), returns metrics.
* ``command.evaluate_run(run, overrides, out, subruns)``: ``bigmodel evaluate`` (``run``:
  a RunDir).

Nothing here trains: cross-validation folds and data-size fractions are trained by the
experiments layer and handed over finished.
"""
