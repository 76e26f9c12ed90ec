"""Typed errors that decide control flow and exit codes.

A ``UserError`` is something the user can fix (a config key, a file, a column): the CLI
prints its one-line message on stderr and exits with status 2, without a traceback.
Anything else is a bug in the tool and keeps its traceback.
"""


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


class ArtifactError(UserError):
    """A model or exported file is refused: unsafe format or content, or not what its
    manifest lists (sha256 mismatch, missing or unlisted files)."""


class RunPreempted(BaseException):
    """SIGTERM stopped the run (preemption); its backup is kept and a rerun resumes it.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way
    swallows it. Exit status 75 is EX_TEMPFAIL ("try again later", sysexits.h).
    """

    exit_code = 75
