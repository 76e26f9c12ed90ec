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
import os
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from PIL import Image

from bigmodel_tf.config import DataConfig
from bigmodel_tf.data.tfrecord_io import op_error_reason
from bigmodel_tf.errors import DataError

log = logging.getLogger("bigmodel_tf.data")
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}  # data.channels -> PIL mode
_FULL_SCALE = {"I;16": 65535.0, "I;16L": 65535.0, "I;16B": 65535.0, "I;16N": 65535.0,
               "I": 65535.0, "F": 1.0}  # wide modes -> the value that becomes 255
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_SHOWN = 3  # examples per kind of unused entry in the warning
# Python values, not tensors: a tensor made at import would start TensorFlow's runtime
# before runtime.logical_cpus can split the CPU
_TF_FORMATS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")  # decoded in the graph
_LUMA = (0.299, 0.587, 0.114)  # PIL's "L" conversion


@dataclass
class FolderListing:
    """The image files of each class folder, and the entries that are not used, by why."""

    root: str
    files: dict[str, list[str]] = field(default_factory=dict)
    unused: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, why: str, path: str) -> None:
        """Record an entry that is not read."""
        self.unused.setdefault(why, []).append(path)

    def unused_summary(self) -> str:
        """'N entries not used: k hidden (a, b), ...', or '' when every entry is used."""
        parts = []
        for why, paths in self.unused.items():
            shown = ", ".join(p[len(self.root.rstrip("/")) + 1:] for p in paths[:_SHOWN])
            more = f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else ""
            parts.append(f"{len(paths)} {why} ({shown}{more})")
        total = sum(len(paths) for paths in self.unused.values())
        return f"{total} entries not used: {'; '.join(parts)}" if parts else ""


def _join(root: str, name: str) -> str:
    """``root``/``name`` for a local path or a URL (``gs://b/x``: never through pathlib)."""
    return f"{root.rstrip('/')}/{name}"


def _entries(folder: str) -> list[str]:
    """The sorted entry names of a local or remote folder (gfile lists "sub/" for folders on
    some filesystems)."""
    return sorted(name.rstrip("/") for name in tf.io.gfile.listdir(folder))


def list_folder(root: str) -> FolderListing:
    """Sort what ``root`` holds into the image files of each class and unused entries.

    An entry with an image extension is taken as a file without asking the filesystem (a
    remote listing of a million files needs no million stat calls).
    """
    if not tf.io.gfile.isdir(root):
        raise DataError(f"data.path={root}: folder not found (expected one sub-folder per class)")
    listing = FolderListing(root)
    extensions = set(Image.registered_extensions())
    for name in _entries(root):
        entry = _join(root, name)
        if name.startswith("."):
            listing.skip("hidden", entry)
        elif not tf.io.gfile.isdir(entry):
            listing.skip("file(s) at the top level, outside the class folders", entry)
        else:
            listing.files[name] = []
            for file_name in _entries(entry):
                path = _join(entry, file_name)
                if file_name.startswith("."):
                    listing.skip("hidden", path)
                elif os.path.splitext(file_name)[1].lower() in extensions:
                    listing.files[name].append(path)
                elif tf.io.gfile.isdir(path):
                    listing.skip("folder(s) inside a class folder", path)
                else:
                    listing.skip("non-image file(s) (by extension)", path)
    return listing


def class_files(root: str) -> dict[str, list[str]]:
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


def _wide_to_float(image: Image.Image, path: str) -> Image.Image:
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


def read_image(path: str, mode: str, height: int, width: int) -> np.ndarray:
    """One image as a [h, w, c] float32 array read by PIL; an unreadable file is a
    DataError naming it."""
    size, resample = (width, height), Image.Resampling.BILINEAR
    try:
        with tf.io.gfile.GFile(path, "rb") as file, Image.open(file) as image:
            if image.mode in _FULL_SCALE:
                gray = np.asarray(_wide_to_float(image, path).resize(size, resample))
                return _gray_to_channels(gray.astype(np.float32), mode)
            resized = _to_mode(image, mode).resize(size, resample)
    except (OSError, ValueError, Image.DecompressionBombError,
            tf.errors.OpError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise DataError(f"data.path: cannot read image {path} ({reason})") from None
    return np.asarray(resized, dtype=np.float32).reshape(height, width, len(mode))


def _to_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """A decoded [h, w, c] image (c = 1..4, values 0..255) as ``channels`` channels, as PIL
    converts: gray repeated to colour, colour to gray by ITU-R 601-2 luma, transparent
    pixels laid over black when the result has no alpha, an opaque alpha added.

    An image that has ``channels`` channels already is returned as it is; the others go
    through elementwise selections on the image padded to 4 channels (one branch, not one
    per channel count: a parallel map runs this for every file).
    """
    count = tf.shape(image)[-1]
    return tf.cond(tf.equal(count, channels), lambda: image,
                   lambda: _converted(image, count, channels))


def _converted(image: tf.Tensor, count: tf.Tensor, channels: int) -> tf.Tensor:
    """``_to_channels`` of an image with ``count`` (!= channels) channels."""
    padded = tf.pad(image, [[0, 0], [0, 0], [0, 4 - count]])
    gray = count <= 2
    colour = tf.where(gray, tf.repeat(padded[..., :1], 3, axis=-1), padded[..., :3])
    alpha = tf.where(tf.equal(count, 2), padded[..., 1:2],
                     tf.where(tf.equal(count, 4), padded[..., 3:4], 255.0))
    if channels in (1, 3):  # no alpha: over black
        colour = colour * (alpha / 255.0)
    if channels <= 2:
        colour = tf.where(gray, colour[..., :1],
                          tf.reduce_sum(colour * tf.constant(_LUMA), axis=-1, keepdims=True))
    return tf.concat([colour, alpha], -1) if channels in (2, 4) else colour


def _resized(image: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """``image`` at [height, width]: unchanged when it has that size already, bilinear with
    antialiasing when it shrinks (as PIL's BILINEAR filters), plain bilinear when it grows."""
    size = tf.shape(image)[:2]
    target = tf.constant([height, width])
    return tf.cond(
        tf.reduce_all(tf.equal(size, target)), lambda: image,
        lambda: tf.cond(tf.reduce_any(size > target),
                        lambda: tf.image.resize(image, target, antialias=True),
                        lambda: tf.image.resize(image, target)))


def _by_tensorflow(path: tf.Tensor, channels: int, height: int, width: int) -> tf.Tensor:
    """A file TensorFlow decodes (PNG of 8 or 16 bits, JPEG, GIF's first frame, BMP)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=0, dtype=tf.float32,
                               expand_animations=False) * 255.0
    return _resized(_to_channels(image, channels), height, width)


def _by_pil(path: tf.Tensor, channels: int, height: int, width: int) -> tf.Tensor:
    """A file of another format PIL reads (TIFF, WebP, ...): ``read_image`` in a
    ``numpy_function``."""
    return tf.numpy_function(
        lambda p: read_image(np.asarray(p).item().decode(), MODES[channels], height, width),
        [path], tf.float32)


def decode(path: tf.Tensor, in_graph: bool | tf.Tensor, channels: int, height: int,
           width: int) -> tf.Tensor:
    """One image file as a [height, width, channels] float32 tensor of 0..255 values.

    ``in_graph`` (``decodable``): decoded by TensorFlow in the graph, so a parallel map
    decodes on every core, or else by PIL. A Python bool picks the decoder once for the
    whole map; a bool tensor picks it per file (a folder of mixed formats), which costs a
    branch per file.
    """
    if isinstance(in_graph, bool):
        image = (_by_tensorflow if in_graph else _by_pil)(path, channels, height, width)
    else:
        image = tf.cond(in_graph, lambda: _by_tensorflow(path, channels, height, width),
                        lambda: _by_pil(path, channels, height, width))
    return tf.ensure_shape(image, [height, width, channels])


def decodable(path: str) -> bool:
    """Whether TensorFlow decodes this file in the graph (by its extension)."""
    return path.lower().endswith(_TF_FORMATS)


def image_reader(channels: int, height: int, width: int):
    """The ``read(files, labels, parallel, batch)`` of an image-file split
    (split.StreamedSplit): files decoded by a parallel map, in order, into (x, y) batches."""

    def read(files: list[str], labels, parallel: int | None, batch: int) -> tf.data.Dataset:
        flags = [decodable(f) for f in files]
        one_decoder = all(flags) or not any(flags)
        columns = (list(files), labels) if one_decoder else (list(files), flags, labels)

        def decoded(path, *rest):
            in_graph = all(flags) if one_decoder else rest[0]
            return decode(path, in_graph, channels, height, width), rest[-1]

        ds = tf.data.Dataset.from_tensor_slices(columns)
        return ds.map(decoded, num_parallel_calls=parallel, deterministic=True).batch(batch)

    return read


def image_files(data_cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The image files under data.path, their class ids and the class names (sorted folder
    names); nothing is read but the listing."""
    files = class_files(data_cfg.path)
    paths = np.array([p for images in files.values() for p in images], dtype=object)
    counts = [len(images) for images in files.values()]
    return paths, np.repeat(np.arange(len(counts), dtype=np.int32), counts), list(files)


def check_file(path: str, channels: int, height: int, width: int) -> None:
    """Decode one image as training does; DataError naming the file if it cannot be read."""
    try:
        decode(tf.constant(path), decodable(path), channels, height, width)
    except tf.errors.OpError as exc:
        if not decodable(path):
            read_image(path, MODES[channels], height, width)  # PIL's own error names the file
        raise DataError(f"data.path: cannot read image {path} ({op_error_reason(exc)})"
                        ) from None
