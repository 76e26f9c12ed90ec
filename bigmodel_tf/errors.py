"""Typed errors that decide control flow and exit codes.

A ``UserError`` is something the user can fix (a config key, a file, a column): the CLI
prints its one-line message on stderr and exits with status 2, without a traceback.
Anything else is a bug in the tool and keeps its traceback.

``require_extra`` checks that an optional feature's setup.cfg extra is installed (without
importing it) and says which one to install.
"""

import importlib.util

# The setup.cfg extras of optional features, and the modules each one provides.
EXTRA_MODULES = {
    "onnx": ("tf2onnx", "onnx", "onnxruntime"),
    "compress": ("tensorflow_model_optimization", "tf_keras", "ai_edge_litert"),
}


class UserError(Exception):
    """An error the user can fix; the CLI reports it in one line and exits 2."""

    exit_code = 2


class ConfigError(UserError):
    """A config key, value or combination of values is not allowed."""


class DataError(UserError):
    """A data source is missing, unreadable or does not match what was expected."""


class RunDirError(UserError):
    """A run directory is missing, unreadable or would be overwritten."""


class TrainingDivergedError(UserError):
    """Training produced a NaN or infinite loss and was stopped."""


class CompressionError(UserError):
    """A layer or model cannot be pruned, quantized or converted as configured."""


class ExportError(UserError):
    """A model cannot be exported in a requested format (an op the converter cannot map)."""


class MissingExtraError(UserError):
    """An optional feature's dependencies (a setup.cfg extra) are not installed."""


def require_extra(extra: str, feature: str) -> None:
    """Raise MissingExtraError with the pip command unless every module of ``extra`` is
    importable (found, not imported)."""
    missing = [name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(f"{feature} needs {', '.join(missing)} (the [{extra}] extra): "
                                f'pip install "bigmodel_tf[{extra}]"')


class ArtifactError(UserError):
    """A model or exported file is refused: unsafe format or content, or not what its
    manifest lists (sha256 mismatch, missing or unlisted files)."""


class RunPreempted(BaseException):
    """SIGTERM stopped the run (preemption); its backup is kept and a rerun resumes it.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way
    swallows it. Exit status 75 is EX_TEMPFAIL ("try again later", sysexits.h).
    """

    exit_code = 75
