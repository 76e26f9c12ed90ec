"""The evaluation in TensorBoard: scalars, histograms, images and text beside the training logs.

Keras' TensorBoard callback already writes ``tensorboard/train`` and
``tensorboard/validation`` (per-epoch loss/accuracy scalars: the learning curves, the
learning rate, weight histograms, the Keras layer graph and, with
``evaluation.profile_batches``, a profiler trace). This module adds a third TensorBoard
run, ``tensorboard/evaluation``: every split's metrics as scalars, the task's histograms
of the outputs (classification: the predicted confidence; regression: the prediction),
every PNG in plots/ as an image, report.md plus the model summary as text, and the model's
op-level inference graph (Keras 3's callback does not write one).
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from bigmodel_tf.evaluation.predictions import SPLIT_NAMES


def _image(path: Path) -> tf.Tensor:
    """A PNG file as a [1, height, width, 3] uint8 batch for tf.summary.image."""
    return tf.image.decode_png(tf.io.read_file(str(path)), channels=3)[None]


def _as_text(markdown: str) -> str:
    """Monospaced text for TensorBoard's markdown text plugin (an indented code block)."""
    return "\n".join("    " + line for line in markdown.splitlines())


def _inference_graph(model) -> tf.Graph:
    """The op-level graph of ``model``'s forward pass in inference mode."""
    spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
    return tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph


def log_evaluation(
    log_dir: Path, model, metrics: dict, histograms: dict[str, dict],
    figures: dict[str, Path], report: str, model_summary: str | None, step: int = 0,
) -> None:
    """Write the evaluation run's graph, scalars, histograms, images and text at ``step``.

    Scalars: every float of each split's metrics; ``histograms``: per split, name ->
    (values, description) (``Task.output_histograms``)."""
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default(step=step):
        tf.summary.graph(_inference_graph(model))
        for split in SPLIT_NAMES:
            for key, value in metrics[split].items():
                if isinstance(value, float):
                    tf.summary.scalar(f"{split}/{key}", value)
            for name, (values, description) in histograms[split].items():
                tf.summary.histogram(f"{split}/{name}", values, description=description)
        for name, path in figures.items():
            tf.summary.image(f"plots/{name}", _image(path))
        tf.summary.text("report", report)
        if model_summary:
            tf.summary.text("model_summary", _as_text(model_summary))
    writer.close()
