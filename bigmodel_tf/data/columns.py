"""The raw columns of a CSV data set, and the Keras encoder that turns them into features.

A CSV model trains on one float32 feature vector per row (``csv_source``: numeric columns
as they are, each categorical column one-hot over its sorted values, named
``column=value``, in header order). Its serving model takes the raw row instead, one
named input per column, and encodes it inside the model with the same layout:

- a numeric column: a float32 number, passed through;
- a categorical column: a string, looked up by ``keras.layers.StringLookup`` over the
  column's vocabulary (``DataSpec.categories``) with one out-of-vocabulary (OOV) index and
  one-hot output. The OOV index's column is dropped, so a value the model never saw gets
  an all-zero block (none of the known categories, as scikit-learn's
  ``OneHotEncoder(handle_unknown="ignore")``) and still a prediction, never an error.

The layout is read back from the spec's ``feature_names`` and ``categories``, so the
data_spec.json of any CSV run (older ones included) describes its serving inputs. A
column's input name is its name with every character but letters, digits, ``_``, ``.`` and
``-`` replaced by ``_`` (what both a Keras layer and a TensorFlow tensor name can hold:
``mean radius`` becomes ``mean_radius``, ``od280/od315`` ``od280_od315``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bigmodel_tf.data.spec import DataSpec

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class Column:
    """One raw column: its CSV name, its serving input name, and where its features are."""

    name: str
    key: str  # the serving signature's input name
    start: int  # index of its first feature in the encoded vector
    vocabulary: tuple[str, ...] | None = None  # categorical: the one-hot values; numeric: None

    @property
    def width(self) -> int:
        """How many features the column takes in the encoded vector."""
        return len(self.vocabulary) if self.vocabulary is not None else 1


def input_key(name: str, taken: set[str]) -> str:
    """A valid, unused Keras and TensorFlow input name for column ``name`` (added to
    ``taken``)."""
    key = _NOT_IN_NAME.sub("_", name)
    key = key if re.match(r"[A-Za-z0-9.]", key) else f"c{key}"
    unique, n = key, 1
    while unique in taken:
        n += 1
        unique = f"{key}_{n}"
    taken.add(unique)
    return unique


def raw_columns(spec: DataSpec) -> list[Column] | None:
    """The raw columns of a CSV spec in header order; None for other data (one input)."""
    if spec.categories is None or not spec.feature_names:
        return None
    names, pending, taken = spec.feature_names, dict(spec.categories), set()
    columns, i = [], 0
    while i < len(names):
        vocabulary = None
        for name, values in pending.items():
            if names[i : i + len(values)] == [f"{name}={v}" for v in values]:
                vocabulary = tuple(values)
                break
        if vocabulary is None:
            name = names[i]
        else:
            del pending[name]
        columns.append(Column(name, input_key(name, taken), i, vocabulary))
        i += columns[-1].width
    return columns


def column_encoder(spec: DataSpec, keras):
    """A Keras model from the raw columns (dict of [batch] float32 or string tensors, by
    input name) to the float32 feature vector the trained model takes (float32 under any
    mixed precision policy: bfloat16 would round large raw values before normalization)."""
    inputs, parts = {}, []
    for column in raw_columns(spec):
        if column.vocabulary is None:
            inputs[column.key] = keras.Input(shape=(), dtype="float32", name=column.key)
            parts.append(keras.layers.Reshape((1,), dtype="float32")(inputs[column.key]))
            continue
        inputs[column.key] = keras.Input(shape=(), dtype="string", name=column.key)
        lookup = keras.layers.StringLookup(
            vocabulary=list(column.vocabulary), num_oov_indices=1, output_mode="one_hot",
            dtype="float32",
        )
        parts.append(lookup(inputs[column.key])[:, 1:])  # drop the OOV column
    features = parts[0] if len(parts) == 1 else keras.layers.Concatenate(dtype="float32")(parts)
    return keras.Model(inputs, features, name="column_encoder")


def raw_input_model(model, spec: DataSpec, keras):
    """``model`` behind ``column_encoder``: raw columns in, the model's outputs out."""
    encoder = column_encoder(spec, keras)
    return keras.Model(encoder.inputs, model(encoder.output), name="raw_input_model")


def decode_rows(x: np.ndarray, spec: DataSpec) -> dict[str, np.ndarray]:
    """Encoded feature vectors [n, features] back as raw columns (by input name): float32
    numbers, and each categorical block's value as a string (``[UNK]`` for a zero block)."""
    x = np.asarray(x, dtype=np.float32)
    rows = {}
    for column in raw_columns(spec):
        block = x[:, column.start : column.start + column.width]
        if column.vocabulary is None:
            rows[column.key] = block[:, 0]
        else:
            values = np.asarray(["[UNK]", *column.vocabulary], dtype=object)
            hit = block.max(axis=1) > 0
            rows[column.key] = values[np.where(hit, block.argmax(axis=1) + 1, 0)]
    return rows


def signature_inputs(x: np.ndarray, spec: DataSpec) -> dict[str, np.ndarray]:
    """The serving signature's inputs for encoded examples ``x``: the raw columns of a CSV
    spec, else ``x`` itself under the spec's input name."""
    if raw_columns(spec) is None:
        return {spec.input_name: np.asarray(x, dtype=np.float32)}
    return decode_rows(x, spec)
