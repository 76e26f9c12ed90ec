"""mnist, fashion_mnist and cifar10 through keras.datasets, working offline when possible.

A local copy (the files keras.datasets caches under $KERAS_HOME or ~/.keras, in
``datasets/``) is used when present. Otherwise keras' loader downloads, but only after a
3-second reachability check of the download host: without a network a clear DataError
comes quickly instead of a long hang. The official train and test parts are joined and
re-split like every other source (data.val_fraction, data.test_fraction, seed).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from bigmodel_tf.config import DataConfig
from bigmodel_tf.data.raw import RawData
from bigmodel_tf.errors import DataError

_PROBE_SECONDS = 3.0  # reachability check of the download host (DNS + TCP connect)


@dataclass(frozen=True)
class _KerasSource:
    """Where keras.datasets caches one data set, where it downloads from, its classes."""

    module: str  # keras.datasets.<module>
    files: tuple[str, ...]  # relative to <keras home>/datasets
    host: str
    class_names: tuple[str, ...]


_GOOGLE = "storage.googleapis.com"
_FASHION_FILES = tuple(
    f"fashion-mnist/{part}-{kind}-idx{dim}-ubyte.gz"
    for part in ("train", "t10k")
    for kind, dim in (("labels", 1), ("images", 3))
)
_SOURCES = {
    "mnist": _KerasSource("mnist", ("mnist.npz",), _GOOGLE, tuple(str(d) for d in range(10))),
    "fashion_mnist": _KerasSource(
        "fashion_mnist", _FASHION_FILES, _GOOGLE,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
    "cifar10": _KerasSource(
        "cifar10", ("cifar-10-batches-py-target_archive",), "www.cs.toronto.edu",
        ("airplane", "automobile", "bird", "cat", "deer",
         "dog", "frog", "horse", "ship", "truck"),
    ),
}


def keras_datasets_dir() -> Path:
    """The folder keras.datasets caches downloads in ($KERAS_HOME or ~/.keras)/datasets.

    Keras resolves this once, when it is imported; here it is resolved per call, so a
    test can point HOME elsewhere.
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def _reachable(host: str, port: int = 443) -> bool:
    """True when a TCP connection to host opens within _PROBE_SECONDS.

    Runs in a daemon thread because name resolution ignores socket timeouts and can
    block much longer on a machine without a network.
    """
    reached = threading.Event()

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=_PROBE_SECONDS).close()
            reached.set()
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(_PROBE_SECONDS)  # returns as soon as the probe succeeds or fails
    return reached.is_set()


def load_keras_dataset(data_cfg: DataConfig, seed: int) -> RawData:
    """Load keras.datasets' data.name (local copy or download) as [n, h, w, c] images."""
    name = data_cfg.name
    source = _SOURCES[name]
    local = [keras_datasets_dir() / f for f in source.files]
    unavailable = (
        f"data.name={name}: not available: no local copy at {local[0]} and it could not "
        "be downloaded (no network?)"
    )
    if not all(p.exists() for p in local) and not _reachable(source.host):
        raise DataError(unavailable)
    try:
        (x_a, y_a), (x_b, y_b) = getattr(keras.datasets, source.module).load_data()
    except Exception as exc:  # any download, extraction or format failure
        raise DataError(f"{unavailable} ({exc.__class__.__name__})") from None
    x = np.concatenate([x_a, x_b]).astype(np.float32)
    if x.ndim == 3:  # gray images come without a channel axis
        x = x[..., np.newaxis]
    return RawData(
        x=x,
        y=np.concatenate([y_a, y_b]).reshape(-1).astype(np.int32),
        kind="image",
        class_names=list(source.class_names),
        value_range=[0.0, 255.0],
    )


LOADERS = dict.fromkeys(_SOURCES, load_keras_dataset)
