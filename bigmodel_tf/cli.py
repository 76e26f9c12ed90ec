"""The ``bigmodel`` command line: parse, build the config, call one stage, report.

``bigmodel COMMAND [--config FILE] [--set KEY=VALUE ...] [--run-dir DIR]``. No loop or
model code lives here. A ``UserError`` from any stage becomes one line on stderr and exit
status 2 (DESIGN.md's error contract); the config is validated before TensorFlow is even
imported, so a bad key fails in well under a second.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bigmodel_tf.config import ExperimentConfig, from_dict, load_config, read_yaml
from bigmodel_tf.errors import NotBuiltError, RunDirError, UserError

# Which issue builds each command that does not exist yet; its help says so.
NOT_BUILT = {
    "evaluate": "the full evaluation command (metrics on new data, plots, report)",
    "tune": "hyperparameter search with KerasTuner",
    "compress": "pruning, quantization and TFLite export",
    "benchmark": "the performance benchmark suites",
}

log = logging.getLogger("bigmodel_tf")


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    """The options every config-driven command takes."""
    parser.add_argument("--config", metavar="FILE", help="experiment YAML (see configs/)")
    parser.add_argument(
        "--set", dest="overrides", metavar="KEY=VALUE", nargs="+", action="extend", default=[],
        help="override config keys, e.g. --set train.epochs=5 data.name=wine",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``bigmodel`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="bigmodel", description="Train large models well with TensorFlow."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a model and export it for TF Serving")
    _add_config_args(train)
    train.add_argument("--run-dir", metavar="DIR", help="default: runs/<data>-<model>-<hash>")

    export = sub.add_parser("export", help="export a run's model.keras as a TF Serving model")
    export.add_argument("--run", required=True, metavar="RUN_DIR", help="a finished run")
    export.add_argument(
        "--set", dest="overrides", metavar="KEY=VALUE", nargs="+", action="extend", default=[],
        help="override export keys, e.g. --set export.dir=/models export.name=digits",
    )

    data = sub.add_parser("data", help="data tools")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    convert = data_sub.add_parser(
        "convert", help="write a data set as sharded GZIP TFRecords plus spec.json"
    )
    _add_config_args(convert)
    convert.add_argument("--out", required=True, metavar="DIR", help="a new folder")

    for name, what in NOT_BUILT.items():
        sub.add_parser(name, help=f"NOT BUILT YET: {what}", add_help=False)
    return parser


def _train(args) -> int:
    """``bigmodel train``: validate the config, train, print where everything went."""
    cfg = load_config(args.config, args.overrides)  # before TensorFlow is imported
    from bigmodel_tf.training import run_train
    from bigmodel_tf.training.run_dir import resolve_run_dir

    run_dir = resolve_run_dir(cfg, args.run_dir)
    result = run_train(cfg, run_dir)
    test = result.metrics["test"]
    verb = "was already finished" if result.already_finished else "finished"
    print(f"run {run_dir} {verb}: test accuracy {test['accuracy']:.4f}, "
          f"f1_macro {test['f1_macro']:.4f}, roc_auc {test['roc_auc']}, "
          f"diagnosis {result.metrics['diagnosis']}")
    if result.export_path:
        print(f"SavedModel for TF Serving: {result.export_path}")
    return 0


def _load_run_config(run: Path) -> ExperimentConfig:
    """The resolved config saved in a run directory."""
    if not (run / "config.yaml").exists():
        raise RunDirError(f"--run {run}: not a run directory (no config.yaml)")
    return from_dict(read_yaml(run / "config.yaml"))


def _export(args) -> int:
    """``bigmodel export``: export a finished run's model as a new SavedModel version."""
    from bigmodel_tf.config import replace

    run = Path(args.run)
    cfg = replace(_load_run_config(run), args.overrides)
    from bigmodel_tf.export.from_run import export_run

    path = export_run(run, cfg)
    print(f"SavedModel for TF Serving: {path}")
    return 0


def _data(args) -> int:
    """``bigmodel data convert``: write TFRecord shards of a registered data set."""
    cfg = load_config(args.config, args.overrides)
    from bigmodel_tf.data import convert_to_tfrecord

    out = convert_to_tfrecord(cfg, Path(args.out))
    print(f"TFRecord shards and spec.json written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bigmodel`` console script; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.basicConfig(level=logging.INFO, format="bigmodel: %(message)s", stream=sys.stderr)
    parser = build_parser()
    # Unbuilt commands accept (and ignore) any arguments so they can explain themselves.
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command not in NOT_BUILT:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    handlers = {"train": _train, "export": _export, "data": _data}
    try:
        if args.command in NOT_BUILT:
            raise NotBuiltError(
                f"bigmodel {args.command}: not built yet ({NOT_BUILT[args.command]})"
            )
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


if __name__ == "__main__":
    sys.exit(main())
