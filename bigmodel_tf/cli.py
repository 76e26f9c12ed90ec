"""The ``bigmodel`` command line: parse, build the config, call one run or stage, report.

``bigmodel COMMAND [--config FILE] [--set KEY=VALUE ...] [--run-dir DIR]``. No loop or
model code lives here. A ``UserError`` from any stage becomes one line on stderr and exit
status 2 (the error contract); the config is validated before TensorFlow is even
imported, so a bad key fails in well under a second.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bigmodel_tf import remote, remote_run
from bigmodel_tf.config import load_config, run_name
from bigmodel_tf.errors import ConfigError, RunPreempted, UserError, require_extra
from bigmodel_tf.finished_run import RunDir
from bigmodel_tf.run_lock import lock_run_dir
from bigmodel_tf.tf_startup import quiet_tensorflow_startup

log = logging.getLogger("bigmodel_tf")


def _add_set_arg(parser: argparse.ArgumentParser, help_text: str) -> None:
    """The repeatable ``--set KEY=VALUE ...`` option."""
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", nargs="+",
                        action="extend", default=[], help=help_text)


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    """The options every config-driven command takes."""
    parser.add_argument("--config", metavar="FILE", help="experiment YAML (see configs/)")
    _add_set_arg(parser, "override config keys, e.g. --set train.epochs=5 data.name=wine")


def _add_run_command(sub, name: str, help_text: str, set_help: str) -> argparse.ArgumentParser:
    """A subcommand that works on a finished run: ``--run RUN_DIR`` plus ``--set``."""
    parser = sub.add_parser(name, help=help_text)
    parser.add_argument("--run", required=True, metavar="RUN_DIR", help="a finished run")
    _add_set_arg(parser, set_help)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``bigmodel`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="bigmodel", description="Train large models well with TensorFlow."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a model and export it for TF Serving")
    _add_config_args(train)
    train.add_argument("--run-dir", metavar="DIR", help="default: runs/<data>-<model>-<hash>")
    train.add_argument("--force-new-run", action="store_true",
                       help="start over: move an existing run in the run directory aside "
                       "(to <dir>.replaced-<time>) instead of resuming or refusing it")
    train.add_argument("--workers", type=int, metavar="N", help="train with N worker "
                       "processes on this machine (MultiWorkerMirroredStrategy)")
    train.add_argument("--cluster", metavar="HOST:PORT,...", help="print the command to run "
                       "on each host of a real cluster instead of training")
    train.add_argument("--cv", type=int, metavar="K",
                       help="also run K-fold cross-validation (same as --set train.cv_folds=K)")

    evaluate = _add_run_command(
        sub, "evaluate", "evaluate a trained run (metrics, plots, report), also on new data",
        "override data.* or evaluation.* keys, e.g. --set data.name=csv data.path=new.csv")
    evaluate.add_argument("--out", metavar="DIR", help="default: the run directory for its own "
                          "data, else RUN_DIR/evaluations/<data>-<hash>")
    export = _add_run_command(sub, "export", "export a run's model.keras as a TF Serving "
                              "model (and ONNX)", "override export keys, e.g. --set "
                              "export.dir=/models export.name=digits")
    export.add_argument("--format", choices=["saved_model", "onnx"], help="saved_model: a "
                        "new SavedModel version only; onnx: convert the newest version this "
                        "run exported (default: export.formats)")
    _add_run_command(sub, "compress", "prune, quantize and convert a run's model to TFLite; "
                     "measure each", "override compression.* or export.* keys, e.g. "
                     "--set compression.qat=true")

    data = sub.add_parser("data", help="data tools")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    convert = data_sub.add_parser(
        "convert", help="write a data set as sharded GZIP TFRecords plus spec.json"
    )
    _add_config_args(convert)
    convert.add_argument("--out", required=True, metavar="DIR", help="a new folder")
    validate = data_sub.add_parser(
        "validate", help="scan the configured data source for corrupt files, NaN/inf, bad "
        "labels, empty classes and leakage between splits; exit 2 if anything is fatal"
    )
    _add_config_args(validate)

    doctor = sub.add_parser("doctor", help="preflight: devices, strategy, batch, precision, "
                            "traps; --memory adds memory estimates")
    _add_config_args(doctor)
    doctor.add_argument("--memory", action="store_true", help="estimate parameter, optimizer "
                        "and activation memory and the largest batch that fits")
    doctor.add_argument("--budget-gb", type=float, metavar="GB",
                        help="memory budget for --memory (default: this machine's RAM)")

    benchmark = sub.add_parser("benchmark", help="measure input, overhead, precision, "
                               "scaling and utilization side by side (JSON + Markdown)")
    _add_config_args(benchmark)
    benchmark.add_argument("--run-dir", metavar="DIR", help="default: runs/benchmark-<time>")

    tune = sub.add_parser("tune", help="hyperparameter search with KerasTuner (random, grid, "
                          "bayesian, hyperband, evolution); resumable, distributed")
    _add_config_args(tune)
    tune.add_argument("--run-dir", metavar="DIR",
                      help="default: runs/tune-<algorithm>-<data>-<model>-<hash>")
    tune.add_argument("--fresh", action="store_true",
                      help="delete the search directory and start over (default: resume)")
    tune.add_argument("--retrain-best", action="store_true",
                      help="then train and export the best config into <search>/best-<id>")
    tune.add_argument("--lr-finder", action="store_true",
                      help="a learning-rate range test instead of a search")
    tune.add_argument("--compare", metavar="A,B,...", help="run these algorithms on the same "
                      "space, budget and seed and report them side by side")
    tune.add_argument("--role", choices=["chief", "worker"], help="distributed search over "
                      "KERASTUNER_ORACLE_IP/KERASTUNER_ORACLE_PORT (see the README)")

    return parser


def _train(args) -> int:
    """``bigmodel train``: validate the config, train, print where everything went."""
    cv = [f"train.cv_folds={args.cv}"] if args.cv is not None else []
    cfg = load_config(args.config, [*args.overrides, *cv])  # before TensorFlow is imported
    if "onnx" in cfg.export.formats:
        require_extra("onnx", "export.formats=[..., onnx]")  # not after training
    if remote.is_url(args.run_dir):  # before any data is read (the working copy checks too)
        remote.check_writable(args.run_dir, "--run-dir")
    _check_export_dir(cfg)
    from bigmodel_tf.experiments import run
    from bigmodel_tf.training.model_choice import resolve_auto_model
    from bigmodel_tf.training.preemption import handle_sigterm
    from bigmodel_tf.training.run_dir import resolve_run_dir, run_state, set_aside

    cfg = resolve_auto_model(cfg)  # the run is named and saved with the concrete model
    run_dir = resolve_run_dir(run_name(cfg), args.run_dir)
    if args.workers is not None or args.cluster:
        remote.refuse_url(run_dir, "--run-dir", "train --workers and --cluster")
        if args.force_new_run:
            _report_moved(run_dir, set_aside(run_dir))
        return _train_workers(args, [*args.overrides, *cv], run_dir, run_state(cfg, run_dir))
    # SIGTERM: keep the backup, exit 75 (preemption.py); a URL: a local working copy
    with handle_sigterm(), remote_run.local_run_dir(run_dir) as local:
        if args.force_new_run:
            _report_moved(run_dir, set_aside(local))
        result = run(cfg, local)
        verb = "was already finished" if result.already_finished else "finished"
        lines = [f"run {run_dir} {verb}: {_test_summary(cfg.task.name, result.metrics)}",
                 *_evaluation_lines(local, cfg.task.name, result.metrics)]
        if result.export_path:
            lines.append(f"SavedModel for TF Serving: {result.export_path}")
    print("\n".join(lines))  # once a run at a URL is copied there
    return 0


def _check_export_dir(cfg) -> None:
    """An export.dir URL must be writable here before anything is trained."""
    if cfg.export.enabled and remote.is_url(cfg.export.dir):
        remote.check_writable(cfg.export.dir, "export.dir")


def _report_moved(run_dir, moved) -> None:
    """Say where --force-new-run moved the previous run (if there was one)."""
    if moved:
        print(f"bigmodel: the previous run in {run_dir} was moved to {moved}", file=sys.stderr)


def _test_summary(task: str, metrics: dict) -> str:
    """The test split's main scores and the diagnosis, for the line a command ends with."""
    from bigmodel_tf.tasks import get_task

    test = metrics["test"]
    names = (*get_task(task).summary_keys[:2], "roc_auc", "r2")
    scores = ", ".join(f"{name} {test[name]:.4f}" if isinstance(test[name], float)
                       else f"{name} {test[name]}" for name in names if name in test)
    return f"test {scores}, diagnosis {metrics.get('diagnosis')}"


def _evaluation_lines(out: Path, task: str, metrics: dict) -> list[str]:
    """Where the report is, and the cross-validated headline metric when CV ran (named by
    their URL for a run at a URL)."""
    from bigmodel_tf.tasks import get_task

    lines = []
    if "cv" in metrics:
        name, cv = get_task(task).headline, metrics["cv"]
        lines.append(f"{cv['folds']}-fold cross-validation: val {name} "
                     f"{cv['mean']['val'][name]:.4f} ± {cv['std']['val'][name]:.4f} "
                     f"(table: {remote_run.shown(out / 'cv.csv')})")
    if (out / "report.md").exists():
        lines.append(f"report: {remote_run.shown(out / 'report.md')}")
    return lines


def _evaluate(args) -> int:
    """``bigmodel evaluate``: re-evaluate a trained run, on its own data or on new data."""
    from bigmodel_tf.evaluation.run_files import evaluation_config

    remote.refuse_url(args.out, "--out", "evaluate")
    with remote_run.local_run_dir(args.run, "--run", existing=True) as path:
        run = RunDir(path)
        evaluation_config(run.config, args.overrides)  # a wrong --set fails fast
        run.check_finished()
        from bigmodel_tf.experiments.evaluate import evaluate_finished

        with lock_run_dir(run.path):  # it writes into the run (or RUN/evaluations/)
            out, metrics = evaluate_finished(run, args.overrides,
                                             Path(args.out) if args.out else None)
        lines = [f"evaluated {remote_run.shown(run.path)} into {remote_run.shown(out)}: "
                 f"{_test_summary(run.spec.task, metrics)}",
                 *_evaluation_lines(out, run.spec.task, metrics)]
    print("\n".join(lines))
    return 0


def _export(args) -> int:
    """``bigmodel export``: a new SavedModel version of a finished run (and its ONNX), or
    (``--format onnx``) the run's newest version converted to ONNX."""
    from bigmodel_tf.config import replace, with_changes

    with remote_run.local_run_dir(args.run, "--run", writable=False, existing=True) as path:
        run = RunDir(path)
        cfg = replace(run.config, args.overrides)
        if args.format == "saved_model":
            cfg = with_changes(cfg, {"export.formats": ["saved_model"]})
        if args.format == "onnx" or "onnx" in cfg.export.formats:
            require_extra("onnx", "ONNX export")  # before TensorFlow is imported
        run.check_finished()
        _check_export_dir(with_changes(cfg, {"export.enabled": True}))
        from bigmodel_tf.export.from_run import convert_run_to_onnx, export_run

        if args.format == "onnx":
            line = f"ONNX: {remote.join(convert_run_to_onnx(run, cfg), 'model.onnx')}"
        else:
            line = f"SavedModel for TF Serving: {export_run(run, cfg)}"
    print(line)
    return 0


def _train_workers(args, overrides: list[str], run_dir: Path, state: str) -> int:
    """``train --workers N`` (local processes) or ``--cluster`` (print per-host commands) of
    the run in ``run_dir``, whose ``state`` (training.run_dir.run_state) says if it finished."""
    from bigmodel_tf.training import launcher

    train_args = ["--run-dir", str(run_dir)]
    train_args += ["--config", args.config] if args.config else []
    train_args += ["--set", *overrides] if overrides else []
    if args.cluster:
        print(launcher.cluster_commands(train_args, launcher.parse_hosts(args.cluster)))
        return 0
    if not 1 <= args.workers <= 64:
        raise ConfigError(f"--workers: expected 1 to 64 worker processes, got {args.workers}")
    if state == "finished":
        RunDir(run_dir).check_data_unchanged()
        print(f"run {run_dir} was already finished: {run_dir / 'metrics.json'}")
        return 0
    return launcher.launch_local(train_args, args.workers, run_dir)


def _doctor(args) -> int:
    """``bigmodel doctor``: print the preflight (and memory estimates) for the config."""
    cfg = load_config(args.config, args.overrides)
    from bigmodel_tf.training import doctor

    findings = doctor.doctor(cfg)
    if args.memory:
        budget = args.budget_gb * 2**30 if args.budget_gb else None
        findings += doctor.doctor_memory(cfg, budget)
    print(doctor.format_findings(findings))
    return 0


def _benchmark(args) -> int:
    """``bigmodel benchmark``: run the configured suites, write JSON and Markdown."""
    cfg = load_config(args.config, args.overrides)
    remote.refuse_url(args.run_dir, "--run-dir", "benchmark")
    from bigmodel_tf.benchmarks import run_benchmarks
    from bigmodel_tf.training.model_choice import resolve_auto_model

    json_path, markdown_path = run_benchmarks(resolve_auto_model(cfg), args.run_dir)
    print(markdown_path.read_text(encoding="utf-8"))
    print(f"written: {json_path} and {markdown_path}")
    return 0


def _compress(args) -> int:
    """``bigmodel compress``: pruning, QAT, TFLite variants of a run, each measured in LiteRT."""
    from bigmodel_tf.config import replace

    for pair in args.overrides:
        if not pair.startswith(("compression.", "export.")):
            raise ConfigError(
                f"--set {pair.partition('=')[0]}: compress takes compression.* and export.* "
                "keys only (the run's model and data are fixed)"
            )
    with remote_run.local_run_dir(args.run, "--run", existing=True) as path:
        run = RunDir(path)
        cfg = replace(run.config, args.overrides)  # before TensorFlow is imported
        run.check_finished()
        _check_export_dir(cfg)
        from bigmodel_tf.compression import compress
        from bigmodel_tf.tasks import get_task

        with lock_run_dir(run.path):  # it writes RUN/compression/
            result = compress(cfg, run)
        task = get_task(result.report["task"])
        lines = [f"{name}: {entry['bytes']:,} bytes (gzip {entry['gzip_bytes']:,}), test "
                 f"{task.headline} {entry['test'][task.headline]:.4f}, "
                 f"{entry['latency_ms']:.3f} ms/example, "
                 f"{task.parity_key} {entry['parity'][task.parity_key]:.4f}"
                 for name, entry in result.report["variants"].items()]
        lines += [f"TFLite files and compression.json: {result.tflite_dir}",
                  f"report: {remote_run.shown(result.report_dir / 'report.md')}"]
        if result.pruned_export:
            lines.append(f"pruned SavedModel for TF Serving: {result.pruned_export}")
    print("\n".join(lines))
    return 0


def _tune(args) -> int:
    """``bigmodel tune``: check config and space, then search, compare or run the LR test."""
    from bigmodel_tf.tuning.distributed import configure_role
    from bigmodel_tf.tuning.settings import load_tune_config, parse_algorithms, resolve_tune

    cfg = resolve_tune(load_tune_config(args.config, args.overrides))  # before TensorFlow
    remote.refuse_url(args.run_dir, "--run-dir", "tune")
    modes = [name for name, on in (("--lr-finder", args.lr_finder), ("--compare", args.compare),
                                   ("--role", args.role)) if on]
    if len(modes) > 1 or (args.retrain_best and (args.lr_finder or args.compare)):
        raise ConfigError(f"{' and '.join(modes + ['--retrain-best'] * args.retrain_best)}: "
                          "cannot be combined")
    algorithms = parse_algorithms(args.compare) if args.compare else []
    role = configure_role(args.role)
    from bigmodel_tf.training.model_choice import resolve_auto_model
    from bigmodel_tf.training.preemption import handle_sigterm
    from bigmodel_tf.tuning import compare, lr_finder, search

    cfg = resolve_tune(resolve_auto_model(cfg))  # trials start from the concrete model and task
    with handle_sigterm():  # SIGTERM: the running trial keeps its backup; rerun resumes
        if args.lr_finder:
            out = lr_finder.resolve_lr_finder_dir(cfg.data.name, cfg.model.name, args.run_dir)
            result = lr_finder.lr_range_test(cfg, out)
            print(f"suggested learning rate {result.suggested:.3g} (smoothed loss lowest at "
                  f"{result.min_loss_rate:.3g}); plot: {result.out_dir / 'lr_finder.png'}")
            return 0
        if algorithms:
            out = compare.resolve_compare_dir(cfg, args.run_dir)
            compare.run_compare(cfg, algorithms, out, fresh=args.fresh)
            print((out / "compare.md").read_text(encoding="utf-8"))
            return 0
        found = search.run_search(cfg, search.resolve_search_dir(cfg, args.run_dir),
                                  fresh=args.fresh, role=role)
        if role == "worker":
            print(f"worker {os.environ['KERASTUNER_TUNER_ID']} finished; the chief holds "
                  "the results")
            return 0
        best = found.best
        summary = (f"best {cfg.tune.objective} {best['objective']:.4f} (trial {best['trial']})"
                   if best else "no trial completed")
        print(f"search {found.search_dir}: {len(found.rows)} trials, {summary}; "
              f"table: {found.search_dir / 'results.md'}")
        if args.retrain_best:
            result = search.retrain_best(found)
            print(f"best config retrained in {result.run_dir}: test accuracy "
                  f"{result.metrics['test']['accuracy']:.4f}")
            if result.export_path:
                print(f"SavedModel for TF Serving: {result.export_path}")
    return 0


def _data(args) -> int:
    """``bigmodel data convert`` (TFRecord shards) or ``data validate`` (scan a source)."""
    cfg = load_config(args.config, args.overrides)
    if args.data_command == "validate":
        from bigmodel_tf.data.validate import validate

        report = validate(cfg)
        print("\n".join(report.lines()))
        if report.fatal_count:
            print(f"bigmodel: error: data validate: {report.fatal_count} fatal problem(s) in "
                  f"{report.source}", file=sys.stderr)
            return 2
        return 0
    from bigmodel_tf.data import convert_to_tfrecord

    out = convert_to_tfrecord(cfg, str(args.out))
    print(f"TFRecord shards and spec.json written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bigmodel`` console script; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    quiet_tensorflow_startup()  # TensorFlow's C++ import notices stay off the terminal
    logging.basicConfig(level=logging.INFO, format="bigmodel: %(message)s", stream=sys.stderr)
    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # not "Assets written to ..."
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"train": _train, "evaluate": _evaluate, "export": _export, "data": _data,
                "doctor": _doctor, "benchmark": _benchmark, "compress": _compress,
                "tune": _tune}
    try:
        return handlers[args.command](args)
    except UserError as exc:
        print(f"bigmodel: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # permission denied, disk full: the environment, not a bug
        print(f"bigmodel: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bigmodel: interrupted", file=sys.stderr)
        return 130
    except RunPreempted as exc:
        print(f"bigmodel: {exc}; the backup of the last finished epoch is kept: run the "
              "same command again to resume", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
