"""Config loading: read YAML, parse ``--set`` overrides, convert values to the field types.

Defaults, then the YAML file, then the overrides are merged into one nested dict; every
value is converted to its field's annotated type and the result is checked
(bigmodel_tf.config.checks) before an ``ExperimentConfig`` is returned.

YAML text is bounded before Python objects are built from it: a config file is read up to
``MAX_YAML_BYTES`` (so ``/dev/zero`` or an endless pipe stops at once), and its node graph
may hold at most ``MAX_YAML_NODES`` nodes with every alias counted as a copy of what it
names (a "billion laughs" file of nested aliases is refused without being expanded). The
same holds for YAML values given with ``--set``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from bigmodel_tf.config.checks import check_range, validate
from bigmodel_tf.config.experiment import PROVENANCE_KEYS, ExperimentConfig
from bigmodel_tf.config.saving import to_dict
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.plugins import is_plugin_path, name_error

MAX_YAML_BYTES = 1 << 20  # 1 MiB; the largest preset is a few KiB
MAX_YAML_NODES = 10_000  # scalars, lists and mappings, aliases expanded; a full config: ~400

# ---------------------------------------------------------------- bounded YAML


class _TooLarge(Exception):
    """The node graph expands to more than MAX_YAML_NODES nodes (or without end)."""


def _expanded_size(node: yaml.Node, counted: dict[int, int], open_nodes: set[int]) -> int:
    """How many nodes ``node`` stands for with every alias copied out; raises _TooLarge
    past MAX_YAML_NODES. An alias is the same node object: each is counted once (memo)."""
    key = id(node)
    if key in counted:
        return counted[key]
    if key in open_nodes:  # an alias to an enclosing node: it expands without end
        raise _TooLarge
    open_nodes.add(key)
    children = node.value if isinstance(node, yaml.SequenceNode) else (
        [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode)
        else [])
    total = 1
    for child in children:
        total += _expanded_size(child, counted, open_nodes)
        if total > MAX_YAML_NODES:
            raise _TooLarge
    open_nodes.discard(key)
    counted[key] = total
    return total


def parse_yaml(text: str, what: str) -> Any:
    """``yaml.safe_load(text)`` within MAX_YAML_BYTES and MAX_YAML_NODES; ``what`` names the
    text (``--config FILE``, ``--set KEY``) in the ConfigError that refuses it.

    YAML errors (and ValueError, RecursionError) propagate for the caller to phrase.
    """
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{what}: larger than {MAX_YAML_BYTES >> 20} MiB")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()  # the node graph: aliases are shared, not copied
        if node is None:
            return None
        try:
            _expanded_size(node, {}, set())
        except _TooLarge:
            raise ConfigError(
                f"{what}: more than {MAX_YAML_NODES} YAML values once its aliases are "
                "expanded (nested or recursive aliases?)"
            ) from None
        return loader.construct_document(node)
    finally:
        loader.dispose()


# ---------------------------------------------------------------- conversion


def _describe(tp: Any) -> str:
    """Human-readable name of an annotated type, for error messages."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Convert ``value`` to the annotated type ``tp`` or raise ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        is_null = value is None or (isinstance(value, str) and value.lower() in ("null", "none"))
        if is_null and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if isinstance(value, str) and value not in allowed and value.strip().isdigit():
            value = int(value)
        if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
            raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
        return value
    if origin is dict:  # free-form mappings (tune.space) are checked by their stage
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return value
    if origin is list:
        if isinstance(value, str):
            try:
                value = parse_yaml(value, key) if value.strip().startswith("[") else (
                    value.split(","))
            except (yaml.YAMLError, ValueError, RecursionError):
                raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}") from None
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
        (item_type,) = typing.get_args(tp)
        return [_coerce(f"{key}[{i}]", v, item_type) for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        return number
    if tp is str:
        if isinstance(value, os.PathLike):  # a path given by code (with_changes)
            value = os.fspath(value)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    raise ConfigError(f"{key}: unsupported type {_describe(tp)}")


def _name_or_plugin(key: str, value: Any, tp: Any) -> Any:
    """A built-in name of the Literal ``tp``, or a ``package.module:function`` plug-in path."""
    if is_plugin_path(value):
        return value
    try:
        return _coerce(key, value, tp)
    except ConfigError:
        raise name_error(key, typing.get_args(tp), value) from None


def _build(cls: type, raw: Any, prefix: str) -> Any:
    """Build dataclass ``cls`` from a mapping, converting and range-checking every field."""
    if not isinstance(raw, dict):
        where = prefix.rstrip(".") or "config"
        raise ConfigError(f"{where}: expected a mapping of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    # key=str: YAML keys may be numbers too; a key that is not printable is shown quoted,
    # so that the message stays one line.
    unknown = sorted(set(raw) - set(fields) - (set(PROVENANCE_KEYS) if not prefix else set()),
                     key=str)
    if unknown:
        key = f"{prefix}{unknown[0]}"
        key = key if key.isprintable() else repr(key)
        raise ConfigError(f"{key}: unknown key; allowed keys here: {', '.join(sorted(fields))}")
    values = {}
    for name, f in fields.items():
        key = f"{prefix}{name}"
        if name not in raw:
            continue
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, raw[name] if raw[name] is not None else {}, f"{key}.")
        elif f.metadata.get("plugin"):
            values[name] = _name_or_plugin(key, raw[name], tp)
        else:
            values[name] = _coerce(key, raw[name], tp)
            check_range(key, values[name], f.metadata)
    return cls(**values)


# ---------------------------------------------------------------- public API


def parse_overrides(pairs: typing.Iterable[str]) -> dict:
    """Turn ``["train.epochs=5", "data.name=csv"]`` into a nested dict of raw values."""
    nested: dict = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key.isprintable() or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE with a dotted key")
        value: Any = text  # "null"/"none" become None only where the key allows None
        if text.strip().startswith("["):
            try:
                value = parse_yaml(text, f"--set {key}")
            except (yaml.YAMLError, ValueError, RecursionError):
                raise ConfigError(f"--set {key}: expected a YAML list, got {text!r}") from None
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {key}: {part} is set both as a value and a section")
            node = child
        if isinstance(node.get(leaf), dict):
            raise ConfigError(f"--set {key}: is a section; set one of its keys instead")
        node[leaf] = value
    return nested


def _merge(base: dict, override: dict) -> dict:
    """Recursively merge ``override`` into a copy of ``base``."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: str | Path) -> dict:
    """Read a YAML config file into a dict; a missing, malformed, too large or too deeply
    aliased file (``parse_yaml``) is a ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_YAML_BYTES + 1)  # no more: /dev/zero and pipes end too
        if len(data) > MAX_YAML_BYTES:
            raise ConfigError(f"--config {path}: larger than {MAX_YAML_BYTES >> 20} MiB "
                              "(a config file is a few KiB)")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config {path}: cannot be read ({exc.__class__.__name__})") from None
    try:
        raw = parse_yaml(text, f"--config {path}")
    # ValueError: an impossible date (2001-13-45); RecursionError: absurd nesting.
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"--config {path}: not valid YAML{where}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"--config {path}: expected a mapping of config sections")
    return raw


def from_dict(raw: dict) -> ExperimentConfig:
    """Build and validate an ExperimentConfig from a (possibly partial) nested dict."""
    cfg = _build(ExperimentConfig, raw, "")
    validate(cfg)
    return cfg


def load_config(path: str | Path | None = None, overrides: typing.Iterable[str] = ()) -> (
    ExperimentConfig
):
    """Load defaults, then the YAML file (if any), then ``--set`` overrides; validate all."""
    raw = read_yaml(path) if path else {}
    return from_dict(_merge(raw, parse_overrides(overrides)))


def replace(cfg: ExperimentConfig, overrides: typing.Iterable[str]) -> ExperimentConfig:
    """A validated copy of ``cfg`` with dotted ``KEY=VALUE`` overrides (``--set`` text)."""
    return from_dict(_merge(to_dict(cfg), parse_overrides(overrides)))


def with_changes(cfg: ExperimentConfig, changes: typing.Mapping[str, Any]) -> ExperimentConfig:
    """A validated copy of ``cfg`` with typed values at dotted keys (the edits code makes).

    ``with_changes(cfg, {"data.cache_dir": path, "train.cv_folds": 0})``: every key must
    exist and every value must fit its field, exactly as in a config file (ConfigError);
    a string field also takes a ``pathlib.Path``.
    """
    nested: dict = {}
    for key, value in changes.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return from_dict(_merge(to_dict(cfg), nested))
