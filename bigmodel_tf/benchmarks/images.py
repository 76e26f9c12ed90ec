"""Image-folder suite: the project's image_dir pipeline against Keras' own folder reader.

Both read the same folder of generated PNG files (``write_image_folder``: the
synthetic_images gratings, 32x32 RGB, 10 classes, seeded by ``seed``), at the same image
size and batch (data.batch_size): (a) the project's pipeline, ``load_splits`` +
``build_dataset`` of the train split with data.cache=none, so every pass decodes the
files again; (b) ``keras.utils.image_dataset_from_directory`` over the whole folder.
Each reader makes one untimed pass first (tracing, the files in the page cache), then
the two alternate, one full pass each per repeat; the ratio of their best examples/s
is the figure. The time ``load_splits`` takes (listing, or reading, the folder) is
reported beside it. The same folder converted to TFRecords (``generated_records``) is
the input_bound suite's PNG-encoded data (loop.py).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from bigmodel_tf.benchmarks.inputs import records_config
from bigmodel_tf.benchmarks.timing import iterate_seconds, summary
from bigmodel_tf.config import ExperimentConfig, from_dict, with_changes
from bigmodel_tf.data import LOADERS, build_dataset, load_splits
from bigmodel_tf.io import staging_folder

IMAGE_SIZE, CHANNELS, CLASSES = 32, 3, 10
_CHUNK = 1000  # images generated at a time: bounds the generator's memory


def write_image_folder(folder: Path, examples: int, seed: int) -> Path:
    """``examples`` generated images as PNG files in one sub-folder per class, written to a
    hidden folder and renamed into place; an existing ``folder`` (a finished earlier
    write) is kept as it is."""
    if folder.exists():
        return folder
    tmp = staging_folder(folder.parent)
    try:
        for start in range(0, examples, _CHUNK):
            count = min(_CHUNK, examples - start)
            data = with_changes(from_dict({}), {
                "data.name": "synthetic_images", "data.channels": CHANNELS,
                "data.synthetic.num_examples": count, "data.synthetic.num_classes": CLASSES,
                "data.synthetic.image_size": IMAGE_SIZE}).data
            raw = LOADERS["synthetic_images"](data, seed + start)  # pixels in [0, 1]
            pixels = np.round(raw.x * 255).astype(np.uint8)
            for index, (image, label) in enumerate(zip(pixels, raw.y, strict=True)):
                classdir = tmp / raw.class_names[label]
                classdir.mkdir(exist_ok=True)
                Image.fromarray(image).save(classdir / f"{start + index:07d}.png")
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def image_dir_config(cfg: ExperimentConfig, folder: Path) -> ExperimentConfig:
    """``cfg`` reading the generated ``folder`` as data.name=image_dir."""
    return with_changes(cfg, {"data.name": "image_dir", "data.path": folder,
                              "data.image_size": [IMAGE_SIZE, IMAGE_SIZE],
                              "data.channels": CHANNELS})


def generated_folder(cfg: ExperimentConfig, run_dir: Path) -> Path:
    """The image folder of this suite (benchmark.image_folder_examples images), written
    once into run_dir."""
    return write_image_folder(run_dir / "image_folder", cfg.benchmark.image_folder_examples,
                              cfg.seed)


def generated_records(cfg: ExperimentConfig, run_dir: Path) -> ExperimentConfig:
    """``cfg`` reading the generated image folder converted to TFRecords (once)."""
    return records_config(image_dir_config(cfg, generated_folder(cfg, run_dir)),
                          run_dir / "image_folder_records")


def run_image_folder(cfg: ExperimentConfig, run_dir: Path) -> dict:
    """Examples/s of one full pass of the project's image_dir pipeline and of Keras'
    ``image_dataset_from_directory`` on the same generated folder, best of the repeats."""
    folder = generated_folder(cfg, run_dir)
    images = with_changes(image_dir_config(cfg, folder), {"data.cache": "none"})
    batch = cfg.data.batch_size
    started = time.perf_counter()
    splits = load_splits(images)
    load_seconds = time.perf_counter() - started
    readers = {
        "pipeline": build_dataset(splits, "train", images.data, cfg.seed, batch),
        "keras": keras.utils.image_dataset_from_directory(
            folder, image_size=(IMAGE_SIZE, IMAGE_SIZE), batch_size=batch, seed=cfg.seed,
            verbose=False),
    }
    for dataset in readers.values():
        iterate_seconds(dataset)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in readers}
    examples: dict[str, int] = {}
    for repeat in range(cfg.benchmark.repeats):
        for name in list(readers) if repeat % 2 == 0 else list(reversed(readers)):
            seconds, examples[name] = iterate_seconds(readers[name])
            times[name].append(seconds)
    rows = {name: summary(times[name], examples[name]) for name in readers}
    return {
        "images": cfg.benchmark.image_folder_examples,
        "image_shape": [IMAGE_SIZE, IMAGE_SIZE, CHANNELS],
        "batch_size": batch,
        "examples_per_pass": examples,
        "load_splits_seconds": round(load_seconds, 3),
        "examples_per_sec": rows,
        "ratio": round(rows["pipeline"]["best_per_sec"] / rows["keras"]["best_per_sec"], 3),
    }
