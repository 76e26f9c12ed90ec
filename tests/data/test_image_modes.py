"""Probe of image modes (16-bit, 32-bit integer, float, alpha, palette transparency, CMYK,
1-bit) read by the image_dir source, and of the entries a folder holds that are not used."""

import logging
import re

import numpy as np
import pytest
from PIL import Image

from bigmodel_tf.cli import main
from bigmodel_tf.data import load_splits
from bigmodel_tf.errors import DataError

SIZE = (4, 6)  # (height, width): the images' own size, so resizing changes nothing


def _folder(tmp_path, image: Image.Image, suffix: str, copies: int = 10):
    """Two classes of ``copies`` copies of ``image`` each; returns the folder."""
    root = tmp_path / "images"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(copies):
            image.save(root / name / f"{i}{suffix}")
    return root


def _load(make_cfg, root, channels: int) -> np.ndarray:
    """The first train image as the pipeline decodes it, [h, w, channels] (every image of
    the folder is the same)."""
    cfg = make_cfg("data.name=image_dir", f"data.path={root}",
                   f"data.image_size=[{SIZE[0]},{SIZE[1]}]", f"data.channels={channels}")
    x, _ = load_splits(cfg).train.head(1)
    assert x.shape[1:] == (*SIZE, channels)
    return x[0]


RAMP16 = np.linspace(0, 65535, SIZE[0] * SIZE[1]).astype(np.uint16).reshape(SIZE)


def _palette_with_transparency() -> Image.Image:
    """A palette image: index 0 red and transparent, index 1 green; left half index 0."""
    image = Image.fromarray(np.tile(np.array([0, 0, 0, 1, 1, 1], np.uint8), (SIZE[0], 1)), "P")
    image.putpalette([255, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    image.info["transparency"] = 0
    return image


def _rgba() -> Image.Image:
    pixels = np.zeros((*SIZE, 4), np.uint8)
    pixels[..., :3] = (200, 100, 50)
    pixels[:, :3, 3] = 0  # left half transparent
    pixels[:, 3:, 3] = 255
    return Image.fromarray(pixels, "RGBA")


LEFT_BLACK = np.concatenate([np.zeros((SIZE[0], 3)), np.ones((SIZE[0], 3))], axis=1)
PROBES = [  # (image, file suffix, data.channels, expected [h, w, c] pixels)
    (Image.fromarray(RAMP16), ".png", 1, (RAMP16 * (255 / 65535))[..., None]),
    (Image.fromarray(RAMP16), ".png", 3, np.repeat((RAMP16 * (255 / 65535))[..., None], 3, -1)),
    (Image.fromarray(RAMP16.astype(np.int32)), ".tif", 1, (RAMP16 * (255 / 65535))[..., None]),
    (Image.fromarray(RAMP16 / np.float32(65535)), ".tif", 1, (RAMP16 * (255 / 65535))[..., None]),
    (Image.fromarray(RAMP16), ".png", 4, np.concatenate(
        [np.repeat((RAMP16 * (255 / 65535))[..., None], 3, -1), np.full((*SIZE, 1), 255)], -1)),
    (_palette_with_transparency(), ".png", 3,
     (LEFT_BLACK[..., None] * np.array([0, 255, 0]))),
    (_rgba(), ".png", 3, LEFT_BLACK[..., None] * np.array([200, 100, 50])),
    (_rgba(), ".png", 4, np.concatenate([np.full((*SIZE, 3), 1.0) * [200, 100, 50],
                                         LEFT_BLACK[..., None] * 255], -1)),
    (Image.fromarray(np.stack([np.full(SIZE, 200, np.uint8), LEFT_BLACK.astype(np.uint8) * 255],
                              -1), "LA"), ".png", 1, (LEFT_BLACK * 200)[..., None]),
    (Image.new("CMYK", SIZE[::-1], (255, 0, 0, 0)), ".tif", 3, np.full((*SIZE, 3), [0, 255, 255])),
    (Image.fromarray(LEFT_BLACK.astype(bool)), ".png", 1, (LEFT_BLACK * 255)[..., None]),
]
IDS = ["I;16-to-L", "I;16-to-RGB", "I-tif", "F-tif", "I;16-to-RGBA", "P-transparency",
       "RGBA-to-RGB", "RGBA-to-RGBA", "LA-to-L", "CMYK", "1-bit"]


@pytest.mark.parametrize(("image", "suffix", "channels", "expected"), PROBES, ids=IDS)
def test_each_mode_is_rescaled_or_converted_not_clipped(make_cfg, tmp_path, image, suffix,
                                                        channels, expected):
    root = _folder(tmp_path, image, suffix)
    assert Image.open(root / "a" / f"0{suffix}").mode == image.mode  # the mode really is stored
    np.testing.assert_allclose(_load(make_cfg, root, channels), expected, atol=1e-3)


@pytest.mark.parametrize(("values", "message"), [
    (np.full(SIZE, 70000, np.int32), r"\(mode I\) has values 70000..70000, expected 0..65535"),
    (np.full(SIZE, 2.0, np.float32), r"\(mode F\) has values 2..2, expected 0..1"),
    (np.full(SIZE, np.nan, np.float32), r"\(mode F\) has values nan..nan, expected 0..1"),
])
def test_values_outside_a_modes_range_are_named(make_cfg, tmp_path, capsys, values, message):
    root = _folder(tmp_path, Image.fromarray(values), ".tif")
    with pytest.raises(DataError, match=rf"image {root / 'a' / '0.tif'} {message}"):
        _load(make_cfg, root, 1)
    assert main(["data", "validate", "--set", "data.name=image_dir", f"data.path={root}"]) == 2
    out = capsys.readouterr().out
    assert "FATAL: 20 unreadable, truncated or out-of-range image(s): " in out
    assert re.search(rf"image {root / 'a' / '4.tif'} {message} and 15 more", out)


def test_entries_that_are_not_used_are_reported(make_cfg, tmp_path, caplog, capsys):
    root = _folder(tmp_path, Image.fromarray(RAMP16), ".png", copies=10)
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "a" / ".DS_Store").write_bytes(b"\0")
    (root / "b" / "more").mkdir()
    Image.fromarray(RAMP16).save(root / "b" / "more" / "9.png")
    Image.fromarray(RAMP16).save(root / "stray.png")
    (root / ".git").mkdir()
    with caplog.at_level(logging.WARNING, logger="bigmodel_tf.data"):
        _load(make_cfg, root, 1)
    summary = ("5 entries not used: 2 hidden (.git, a/.DS_Store); 1 non-image file(s) (by "
               "extension) (a/notes.txt); 1 folder(s) inside a class folder (b/more); 1 file(s) "
               "at the top level, outside the class folders (stray.png)")
    assert f"data.path={root}: {summary}" in caplog.text
    code = main(["data", "validate", "--set", "data.name=image_dir", f"data.path={root}",
                 f"data.image_size=[{SIZE[0]},{SIZE[1]}]"])
    assert code == 0  # a warning, not a fatal problem
    assert f"WARNING: data.path={root}: {summary}" in capsys.readouterr().out
