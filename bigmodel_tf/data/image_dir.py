"""The image_dir source: data.path holds one sub-folder per class, each full of image files.

Images of any size and format PIL reads are converted to data.channels (1 gray "L",
2 "LA", 3 "RGB", 4 "RGBA") and resized to data.image_size [h, w]; pixel values stay in
0..255 (the model normalizes). Class names are the sorted folder names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bigmodel_tf.config import ExperimentConfig
from bigmodel_tf.data.raw import RawData
from bigmodel_tf.errors import DataError

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}  # data.channels -> PIL mode


def _class_files(root: Path) -> dict[str, list[Path]]:
    """The image files of each class folder (hidden entries and non-images skipped)."""
    if not root.is_dir():
        raise DataError(f"data.path={root}: folder not found (expected one sub-folder per class)")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(folders) < 2:
        raise DataError(
            f"data.path={root}: expected one sub-folder per class (at least 2), "
            f"found {len(folders)}"
        )
    extensions = set(Image.registered_extensions())
    files = {}
    for folder in folders:
        images = sorted(
            p for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in extensions
        )
        if not images:
            raise DataError(f"data.path={root}: class folder {folder.name!r} has no image files")
        files[folder.name] = images
    return files


def _read_image(path: Path, mode: str, height: int, width: int) -> np.ndarray:
    """One image as a [h, w, c] float32 array; an unreadable file is a DataError naming it."""
    try:
        with Image.open(path) as image:
            resized = image.convert(mode).resize((width, height), Image.Resampling.BILINEAR)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise DataError(f"data.path: cannot read image {path} ({reason})") from None
    return np.asarray(resized, dtype=np.float32).reshape(height, width, len(mode))


def load_image_dir(cfg: ExperimentConfig) -> RawData:
    """Read every image under data.path into [n, h, w, channels] float32 (0..255)."""
    files = _class_files(Path(cfg.data.path))
    mode = _MODES[cfg.data.channels]
    height, width = cfg.data.image_size
    paths = [p for images in files.values() for p in images]
    x = np.empty((len(paths), height, width, len(mode)), dtype=np.float32)
    for i, path in enumerate(paths):
        x[i] = _read_image(path, mode, height, width)
    counts = [len(images) for images in files.values()]
    return RawData(
        x=x,
        y=np.repeat(np.arange(len(counts), dtype=np.int32), counts),
        kind="image",
        class_names=list(files),
        value_range=[0.0, 255.0],
    )


LOADERS = {"image_dir": load_image_dir}
