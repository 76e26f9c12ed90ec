"""Reading a finished run directory: the one reader of evaluate, export and compress.

``RunDir(path)`` reads config.yaml; ``check_finished()`` then checks the rest of the run
before any work starts, so a damaged, foreign or edited file is refused in one line
naming the file and what was expected (a ``RunDirError``, exit 2), never a traceback
further on:

- metrics.json is present (the run finished) and a JSON object with test metrics;
- manifest.json is readable, its config hash is config.yaml's (an edited config.yaml is
  refused: the results were made with another config), and data_spec.json and
  history.csv match the sha256 it lists;
- data_spec.json is a data spec, history.csv a per-epoch history, threshold.json (binary
  tasks) a threshold.

``load_verified_model()`` loads model.keras (checked against the manifest and loaded safely by
loading.py) and checks it against data_spec.json; ``check_data_unchanged()`` compares the
files of ``data.path`` with the fingerprint recorded at training time
(data/fingerprint.py); ``check_data(cfg.data, spec)`` checks loaded data against the
model's features, shape and classes. Runs trained before a check existed (no listed
sha256, no fingerprint) skip that check. Reading imports no TensorFlow until a data spec
or model is needed.
"""

from __future__ import annotations

import csv
import json
from functools import cached_property
from pathlib import Path

import yaml

from bigmodel_tf.config import ExperimentConfig, config_hash, from_dict
from bigmodel_tf.errors import ArtifactError, ConfigError, DataError, RunDirError

CONFIG, METRICS, MANIFEST = "config.yaml", "metrics.json", "manifest.json"
SPEC, HISTORY, MODEL, THRESHOLD = "data_spec.json", "history.csv", "model.keras", "threshold.json"
EXPECTED = {
    CONFIG: "the resolved config `bigmodel train` wrote",
    METRICS: "the metrics `bigmodel train` writes when the run finishes; if it did not "
             "finish, run the same `bigmodel train` command again to resume it",
    MANIFEST: "the manifest of the run's files `bigmodel train` wrote",
    SPEC: "the data spec the model was trained with",
    HISTORY: "the per-epoch history Keras' CSVLogger wrote, with an epoch column",
    MODEL: "the trained model `bigmodel train` saved",
    THRESHOLD: "the tuned decision threshold, a JSON object with a numeric value",
}
SHA_CHECKED = (SPEC, HISTORY)  # model.keras is checked when it is loaded
RETRAIN = "`bigmodel train --force-new-run` (the old run is moved aside)"


def _data_where(data) -> str:
    """``data.name=... data.path=...``: where loaded data came from, for messages."""
    return f"data.name={data.name}" + (f" data.path={data.path}" if data.path else "")


class RunDir:
    """A run directory made by ``bigmodel train``, read and checked file by file."""

    def __init__(self, path: str | Path):
        """Open ``path`` and read its config.yaml (a RunDirError if either is not right)."""
        self.path = Path(path)
        if not self.path.exists():
            raise RunDirError(f"{self.path}: not found (expected a run directory made by "
                              "`bigmodel train`)")
        if not self.path.is_dir():
            raise RunDirError(f"{self.path}: not a directory (expected a run directory made "
                              "by `bigmodel train`)")
        self.config = self._read_config()

    def error(self, name: str, problem: str) -> RunDirError:
        """The one wording of a bad file: ``RUN/NAME: problem (expected ...)``."""
        return RunDirError(f"{self.path / name}: {problem} (expected {EXPECTED[name]})")

    def _text(self, name: str) -> str:
        """The text of one file of the run."""
        try:
            return (self.path / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise self.error(name, "missing") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self.error(name, f"unreadable ({type(exc).__name__})") from None

    def _json_object(self, name: str) -> dict:
        """One JSON file of the run, which must hold an object."""
        try:
            content = json.loads(self._text(name))
        except (json.JSONDecodeError, RecursionError):
            raise self.error(name, "not valid JSON") from None
        if not isinstance(content, dict):
            raise self.error(name, f"holds a JSON {type(content).__name__}, not an object")
        return content

    def _read_config(self) -> ExperimentConfig:
        """config.yaml as a validated config."""
        try:
            raw = yaml.safe_load(self._text(CONFIG))
        except (yaml.YAMLError, ValueError, RecursionError):
            raise self.error(CONFIG, "not valid YAML") from None
        if not isinstance(raw, dict):
            raise self.error(CONFIG, "not a mapping of config sections")
        try:
            return from_dict(raw)
        except ConfigError as exc:
            raise self.error(CONFIG, f"invalid: {exc}") from None

    @cached_property
    def metrics(self) -> dict:
        """metrics.json: the run's results."""
        metrics = self._json_object(METRICS)
        if not isinstance(metrics.get("test"), dict) or not metrics["test"]:
            raise self.error(METRICS, "has no test metrics")
        return metrics

    @cached_property
    def manifest(self) -> dict:
        """manifest.json: sha256 of the run's files, config hash, data fingerprint."""
        manifest = self._json_object(MANIFEST)
        if not isinstance(manifest.get("files"), dict) or not all(
                isinstance(entry, dict) for entry in manifest["files"].values()):
            raise self.error(MANIFEST, "has no list of files")
        return manifest

    @cached_property
    def spec(self):
        """data_spec.json as a DataSpec."""
        from bigmodel_tf.data.spec import DataSpec

        content = self._json_object(SPEC)
        try:
            spec = DataSpec(**content)
        except TypeError:
            raise self.error(SPEC, "not a data spec (unknown or missing keys)") from None
        shape, classes = spec.input_shape, spec.class_names
        if (not isinstance(shape, list) or not shape
                or not all(isinstance(d, int) and d > 0 for d in shape)
                or not isinstance(classes, list)
                or (spec.task == "classification" and len(classes) < 2)):
            raise self.error(SPEC, "not a data spec (input_shape or class_names)")
        return spec

    @cached_property
    def history(self) -> dict[str, list[float]]:
        """history.csv as columns, one value per epoch."""
        from bigmodel_tf.history import read_history

        self._text(HISTORY)  # missing or unreadable
        try:
            history = read_history(self.path / HISTORY)
        except (csv.Error, ValueError, KeyError, TypeError):
            raise self.error(HISTORY, "not a training history") from None
        if not history.get("epoch"):
            raise self.error(HISTORY, "not a training history (no epoch rows)")
        return history

    def check_finished(self) -> None:
        """Check every file a command reads (see the module docstring)."""
        self.metrics  # noqa: B018  (read and checked)
        recorded = self.manifest.get("config_hash")
        if recorded is not None and recorded != config_hash(self.config):
            raise RunDirError(
                f"{self.path / CONFIG}: changed since the run finished (its config hash "
                f"{config_hash(self.config)} is not the {recorded} recorded in {MANIFEST}); "
                f"restore it, or train a new run with `bigmodel train --config "
                f"{self.path / CONFIG} --run-dir NEW_DIR`")
        from bigmodel_tf.manifest import sha256_file

        for name in SHA_CHECKED:
            self._text(name)  # missing or unreadable
            listed = self.manifest["files"].get(name)
            if listed is not None and sha256_file(self.path / name) != listed.get("sha256"):
                raise RunDirError(f"{self.path / name}: changed since the run finished (its "
                                  f"sha256 is not the one in {MANIFEST}); restore it, or "
                                  f"retrain with {RETRAIN}")
        self.spec  # noqa: B018
        self.history  # noqa: B018
        if (self.path / THRESHOLD).exists():
            threshold = self._json_object(THRESHOLD).get("value")
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
                raise self.error(THRESHOLD, "has no numeric value")

    def check_data_unchanged(self) -> None:
        """Refuse a run whose data.path files changed since it was trained."""
        from bigmodel_tf.data.fingerprint import data_change

        change = data_change(self.manifest.get("data"), self.config.data)
        if change:
            raise RunDirError(
                f"{self.path}: its data changed since the run was trained ({change}); its "
                f"model and metrics are of the old data: retrain with {RETRAIN}, or "
                f"evaluate the new data with `bigmodel evaluate --run {self.path} --out DIR`")

    def load_verified_model(self, compile: bool = True):
        """model.keras, checked against the manifest and data_spec.json, loaded safely."""
        from bigmodel_tf.loading import load_keras_model
        from bigmodel_tf.plugins import plugin_packages

        if not (self.path / MODEL).is_file():
            raise self.error(MODEL, "missing")
        try:
            # config.yaml's model plug-in (imported when the config was read) may add layers
            packages = plugin_packages(self.config.model.name)
            model = load_keras_model(self.path / MODEL, compile=compile, packages=packages)
        except ArtifactError as exc:
            raise RunDirError(str(exc)) from None
        shape, units = [int(d) for d in model.input_shape[1:]], int(model.output_shape[-1])
        if shape != self.spec.input_shape or units != self.spec.output_units:
            what = "classes" if self.spec.task == "classification" else "output value(s)"
            raise self.error(SPEC, f"describes input shape {self.spec.input_shape} and "
                             f"{self.spec.output_units} {what}, but {MODEL} takes {shape} "
                             f"and predicts {units} {what}")
        return model

    def check_data(self, data, spec) -> None:
        """Raise DataError unless loaded data has the model's features, shape and classes."""
        where, own = _data_where(data), self.spec
        if own.feature_names and spec.feature_names != own.feature_names:
            missing = [f for f in own.feature_names if f not in (spec.feature_names or [])]
            extra = [f for f in (spec.feature_names or []) if f not in own.feature_names]
            detail = (f"missing {missing[:5]}, unexpected {extra[:5]}" if missing or extra
                      else "same features in another order")
            raise DataError(f"{where}: the features do not match the model's ({detail})")
        if list(spec.input_shape) != own.input_shape:
            raise DataError(f"{where}: examples have shape {spec.input_shape} but the model "
                            f"expects {own.input_shape}")
        if spec.class_names != own.class_names:
            raise DataError(f"{where}: classes {spec.class_names} do not match the model's "
                            f"{own.class_names}")
