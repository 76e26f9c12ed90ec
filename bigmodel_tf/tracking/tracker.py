"""The tracker interface the orchestration uses; the base class tracks nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bigmodel_tf.errors import UserError

if TYPE_CHECKING:
    import keras


class TrackingError(UserError):
    """The tracking store cannot be reached or written (reported before training)."""


class Tracker:
    """A run's tracker; this base class is ``tracking.backend=none`` and does nothing.

    Use it as a context manager around the run: leaving the block ends the tracker's run
    (finished once ``finish`` was called, failed or killed otherwise).
    """

    run_id: str | None = None

    def callbacks(self) -> list[keras.callbacks.Callback]:
        """The Keras callbacks that log each epoch's metrics (none here)."""
        return []

    def write_record(self) -> None:
        """Write tracking.json into the tracked folder, now that the run has made it."""

    def log_epoch(self, epoch: int, logs: Mapping[str, Any]) -> None:
        """Log one epoch's metrics with the epoch as the step."""

    def finish(self, metrics: Mapping[str, Any], artifacts: Iterable[Path],
               tags: Mapping[str, str]) -> None:
        """Log the final metrics (flattened), the artifacts that exist, and ``tags``."""

    def __enter__(self) -> Tracker:
        """Enter the run's block."""
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """End the tracker's run."""
