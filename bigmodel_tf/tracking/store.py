"""The MLflow store: its URI resolved, the experiment found or created, fast failure.

``tracking.uri`` unset: ``MLFLOW_TRACKING_URI`` if set, else a file store ``./mlruns``
(relative to the working directory). A plain path is a file store too. MLflow 3 refuses
file stores unless ``MLFLOW_ALLOW_FILE_STORE=true``, so that variable is set (if it is not
set already) when, and only when, the store is a ``file:`` URI. The start-up requests to
an HTTP server are made with no retries and a short timeout (``quick_requests``), so an
unreachable server is reported at once rather than after MLflow's minutes of retries.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from bigmodel_tf.tracking.tracker import TrackingError

DEFAULT_STORE = "mlruns"
QUICK_REQUEST_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def resolve_uri(uri: str | None) -> str:
    """The store's URI: ``uri``, else MLFLOW_TRACKING_URI, else ./mlruns; a local path as
    an absolute ``file:`` URI."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_STORE
    if not urlparse(uri).scheme:
        uri = Path(uri).expanduser().resolve().as_uri()
    if urlparse(uri).scheme == "file":
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


@contextlib.contextmanager
def quick_requests(uri: str) -> Iterator[None]:
    """For an HTTP store: no retries and a short timeout inside the block."""
    if urlparse(uri).scheme not in ("http", "https"):
        yield
        return
    saved = {name: os.environ.get(name) for name in QUICK_REQUEST_ENV}
    os.environ.update(QUICK_REQUEST_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def experiment_id(client: MlflowClient, name: str) -> str:
    """The id of the experiment ``name``, created if it does not exist yet."""
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return client.create_experiment(name)
        except MlflowException:  # another process created it meanwhile
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
    if found.lifecycle_stage != "active":
        raise TrackingError(f"tracking.experiment: {name!r} is deleted in {client.tracking_uri}; "
                            "restore it or choose another name")
    return found.experiment_id
