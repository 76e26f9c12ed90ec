"""Evaluation stage: metrics, plots, fit diagnosis, baselines, interpretation, reports.

Entry points (imported from their modules, so that importing this package stays light
and ``bigmodel evaluate`` can check a run directory before TensorFlow loads):

* ``stage.run_evaluation(cfg, model, splits, run_dir)``: runs at the end of every
  ``run_train``; writes plots/, report.md and TensorBoard images/text, returns metrics.
* ``command.evaluate_run(run, overrides, out)``: ``bigmodel evaluate`` (``run``: a RunDir).
* ``cv.run_cross_validation(cfg, run_dir)``: the folds of ``train.cv_folds``.
"""
