"""The image_dir source: data.path holds one sub-folder per class, each full of image files.

Images of any size and format PIL reads are converted to data.channels (1 gray "L",
2 "LA", 3 "RGB", 4 "RGBA") and resized to data.image_size [h, w]; pixel values are in
0..255 (the model normalizes). Class names are the sorted folder names.

Pixel depth is rescaled, never clipped: 16-bit images (modes "I;16*", and "I", whose values
must lie in 0..65535) are scaled by 255/65535, float images (mode "F", values in 0..1) by
255; a value outside its mode's range is an error naming the file. Transparent pixels
(RGBA, LA, PA, a palette or gray image with a transparent colour) are laid over black when
data.channels has no alpha channel. Every other mode (1-bit, P, CMYK, YCbCr, ...) is
converted by PIL.

What the folder holds and training does not read is reported (``FolderListing.unused``,
logged as a warning at load and listed by ``bigmodel data validate``): hidden entries,
files whose extension is not an image format, files at the top level outside the class
folders, and folders inside a class folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from bigmodel_tf.config import DataConfig
from bigmodel_tf.data.raw import RawData
from bigmodel_tf.errors import DataError

log = logging.getLogger("bigmodel_tf.data")
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}  # data.channels -> PIL mode
_FULL_SCALE = {"I;16": 65535.0, "I;16L": 65535.0, "I;16B": 65535.0, "I;16N": 65535.0,
               "I": 65535.0, "F": 1.0}  # wide modes -> the value that becomes 255
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_SHOWN = 3  # examples per kind of unused entry in the warning


@dataclass
class FolderListing:
    """The image files of each class folder, and the entries that are not used, by why."""

    root: Path
    files: dict[str, list[Path]] = field(default_factory=dict)
    unused: dict[str, list[Path]] = field(default_factory=dict)

    def skip(self, why: str, path: Path) -> None:
        """Record an entry that is not read."""
        self.unused.setdefault(why, []).append(path)

    def unused_summary(self) -> str:
        """'N entries not used: k hidden (a, b), ...', or '' when every entry is used."""
        parts = []
        for why, paths in self.unused.items():
            shown = ", ".join(str(p.relative_to(self.root)) for p in paths[:_SHOWN])
            more = f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else ""
            parts.append(f"{len(paths)} {why} ({shown}{more})")
        total = sum(len(paths) for paths in self.unused.values())
        return f"{total} entries not used: {'; '.join(parts)}" if parts else ""


def list_folder(root: Path) -> FolderListing:
    """Sort what ``root`` holds into the image files of each class and unused entries."""
    if not root.is_dir():
        raise DataError(f"data.path={root}: folder not found (expected one sub-folder per class)")
    listing = FolderListing(root)
    extensions = set(Image.registered_extensions())
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            listing.skip("hidden", entry)
        elif not entry.is_dir():
            listing.skip("file(s) at the top level, outside the class folders", entry)
        else:
            listing.files[entry.name] = []
            for path in sorted(entry.iterdir()):
                if path.name.startswith("."):
                    listing.skip("hidden", path)
                elif path.is_dir():
                    listing.skip("folder(s) inside a class folder", path)
                elif path.suffix.lower() not in extensions:
                    listing.skip("non-image file(s) (by extension)", path)
                else:
                    listing.files[entry.name].append(path)
    return listing


def _class_files(root: Path) -> dict[str, list[Path]]:
    """The image files of each class folder; unused entries are logged."""
    listing = list_folder(root)
    if len(listing.files) < 2:
        raise DataError(
            f"data.path={root}: expected one sub-folder per class (at least 2), "
            f"found {len(listing.files)}"
        )
    for name, images in listing.files.items():
        if not images:
            raise DataError(f"data.path={root}: class folder {name!r} has no image files")
    if listing.unused:
        log.warning("data.path=%s: %s", root, listing.unused_summary())
    return listing.files


def _wide_to_float(image: Image.Image, path: Path) -> Image.Image:
    """A 16-bit, 32-bit integer or float image as a mode "F" image scaled to 0..255."""
    top = _FULL_SCALE[image.mode]
    values = np.asarray(image, dtype=np.float32)
    low, high = values.min(), values.max()
    if not (low >= 0 and high <= top):  # NaN fails too
        raise DataError(f"data.path: image {path} (mode {image.mode}) has values "
                        f"{low:g}..{high:g}, expected 0..{top:g}")
    return Image.fromarray(values * np.float32(255.0 / top), "F")


def _to_mode(image: Image.Image, mode: str) -> Image.Image:
    """An 8-bit image in ``mode``; transparent pixels over black when ``mode`` has no alpha."""
    if image.mode not in _ALPHA_MODES and "transparency" not in image.info:
        return image.convert(mode)
    rgba = image.convert("RGBA")
    if mode in _ALPHA_MODES:
        return rgba.convert(mode)
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert(mode)


def _gray_to_channels(gray: np.ndarray, mode: str) -> np.ndarray:
    """A [h, w] gray array as [h, w, c] in ``mode``: gray repeated, alpha opaque."""
    colour = np.repeat(gray[..., np.newaxis], 3 if mode.startswith("RGB") else 1, axis=-1)
    if mode.endswith("A"):
        colour = np.concatenate([colour, np.full_like(colour[..., :1], 255.0)], axis=-1)
    return colour


def read_image(path: Path, mode: str, height: int, width: int) -> np.ndarray:
    """One image as a [h, w, c] float32 array; an unreadable file is a DataError naming it."""
    size, resample = (width, height), Image.Resampling.BILINEAR
    try:
        with Image.open(path) as image:
            if image.mode in _FULL_SCALE:
                gray = np.asarray(_wide_to_float(image, path).resize(size, resample))
                return _gray_to_channels(gray.astype(np.float32), mode)
            resized = _to_mode(image, mode).resize(size, resample)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise DataError(f"data.path: cannot read image {path} ({reason})") from None
    return np.asarray(resized, dtype=np.float32).reshape(height, width, len(mode))


def load_image_dir(data_cfg: DataConfig, seed: int) -> RawData:
    """Read every image under data.path into [n, h, w, channels] float32 (0..255)."""
    files = _class_files(Path(data_cfg.path))
    mode = MODES[data_cfg.channels]
    height, width = data_cfg.image_size
    paths = [p for images in files.values() for p in images]
    x = np.empty((len(paths), height, width, len(mode)), dtype=np.float32)
    for i, path in enumerate(paths):
        x[i] = read_image(path, mode, height, width)
    counts = [len(images) for images in files.values()]
    return RawData(
        x=x,
        y=np.repeat(np.arange(len(counts), dtype=np.int32), counts),
        kind="image",
        class_names=list(files),
        value_range=[0.0, 255.0],
    )


LOADERS = {"image_dir": load_image_dir}
