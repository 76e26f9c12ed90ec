"""Post-training quantization: a model -> SavedModel -> TFLite flatbuffer, per variant.

Reads the model (Keras 3, or a tf_keras QAT model), the compression section (int8 inputs
and outputs, float fallback) and examples of the train pipeline (representative data);
returns the ``.tflite`` bytes. Keras 3 models go through
``model.export(format="tf_saved_model")`` and ``TFLiteConverter.from_saved_model``
(``from_keras_model`` is unreliable on Keras 3, docs/architecture.md); tf_keras models through
``tf.saved_model.save`` with an explicit signature.

Variants: ``float32`` (no optimization), ``dynamic_range`` (int8 weights, float
activations), ``float16`` (float16 weights), ``int8`` (full integer: weights and
activations, calibrated on representative data). QAT models convert to int8 with the
ranges their fake quantization learned (TF-MOT's documented conversion: the default
optimization, no representative data). The representative data set is drawn from the
train pipeline as float32 batches of ONE example of the model's input shape; a wrong
one is the usual cause of an int8 model that predicts a single class (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from bigmodel_tf.config import CompressionConfig
from bigmodel_tf.data.spec import DataSpec
from bigmodel_tf.errors import CompressionError


def write_saved_model(model, spec: DataSpec, path: Path) -> None:
    """A SavedModel of ``model`` (Keras 3 or tf_keras) for the TFLite converter."""
    if isinstance(model, keras.Model):
        model.export(str(path), format="tf_saved_model", verbose=False)
        return
    signature = tf.TensorSpec([None, *spec.input_shape], tf.float32, name=spec.input_name)
    serve = tf.function(lambda x: {"probabilities": model(x, training=False)},
                        input_signature=[signature])
    tf.saved_model.save(model, str(path), signatures=serve.get_concrete_function())


def representative_examples(train: tf.data.Dataset, count: int) -> np.ndarray:
    """The first ``count`` raw float32 examples of the (batched) train pipeline ``train``."""
    batches = train.unbatch().take(count)
    return np.stack([np.asarray(x, dtype=np.float32) for x, *_ in batches.as_numpy_iterator()])


def representative_dataset(examples: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The converter's representative data: one float32 [1, *input_shape] batch at a time."""

    def generate():
        for example in examples:
            yield [example[None].astype(np.float32)]

    return generate


def _configure(
    converter, variant: str, c: CompressionConfig, examples: np.ndarray | None,
    quantization_aware: bool,
) -> None:
    """Set the converter's optimizations and types for one quantization variant."""
    if variant == "float32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "int8":
        if not quantization_aware:
            converter.representative_dataset = representative_dataset(examples)
            ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if c.int8_float_fallback:
                ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
            converter.target_spec.supported_ops = ops
        if c.int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8


def _conversion_error(exc: Exception, variant: str, layer_names: list[str]) -> CompressionError:
    """A CompressionError naming the layers the converter's message mentions, and the way out."""
    text = str(exc)
    # Converter locations are op paths such as "cnn/conv_1/Conv2D": a layer is a path part.
    named = [name for name in layer_names if f"/{name}/" in text or f'"{name}/' in text]
    where = f" at layer {', '.join(named)}" if named else ""
    lines = [line.strip() for line in text.splitlines() if "error" in line.lower()]
    detail = (lines[0] if lines else text.strip().splitlines()[0] if text.strip() else "")[:300]
    avoid = ("set compression.int8_float_fallback=true (float kernels for those ops) or "
             if variant == "int8" else "")
    return CompressionError(
        f"TFLite variant {variant}: the converter failed{where} ({detail}); {avoid}"
        f"remove {variant} from compression.variants"
    )


def convert(
    saved_model: Path, variant: str, c: CompressionConfig, examples: np.ndarray | None,
    layer_names: list[str], quantization_aware: bool = False,
) -> bytes:
    """Convert a SavedModel to the TFLite ``variant``; a failure names the layer(s) involved.

    ``examples`` (raw float32, see ``representative_examples``) calibrate int8 variants of
    models that were not trained quantization-aware.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    _configure(converter, variant, c, examples, quantization_aware)
    try:
        return converter.convert()
    except Exception as exc:  # ConverterError and the MLIR errors it wraps
        raise _conversion_error(exc, variant, layer_names) from None
