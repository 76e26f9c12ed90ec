"""The search space: ``tune.space`` validated against the real config keys, then as
KerasTuner ``HyperParameters``.

``tune.space`` maps a dotted config key to a spec ``{type: int|float|choice|bool, min, max,
log, step, values}``. It may be written with dotted keys (``train.learning_rate: {...}``)
or nested (``train: {learning_rate: {...}}``), and ``--set tune.space.model.width.max=256``
edits one field (``--set tune.space.model.depth=null`` drops a key, ``...step=null`` a
field; a ``--set`` of ``type`` drops the fields the new type does not take). ``resolve_space``
returns the canonical form (dotted keys, values converted to the key's own type), or
raises a ``ConfigError`` naming the spec field — before any trial runs. Bounds and choice
values are checked by the config itself, so a searched value is always a valid value of
its key. Nothing here imports TensorFlow except ``to_hyperparameters``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

from bigmodel_tf.config import ExperimentConfig, to_dict, with_changes
from bigmodel_tf.errors import ConfigError

SPEC_FIELDS = ("type", "min", "max", "log", "step", "values")
TYPES = ("int", "float", "choice", "bool")
FIELDS_BY_TYPE = {"int": SPEC_FIELDS[:5], "float": SPEC_FIELDS[:5],
                  "choice": ("type", "values"), "bool": ("type",)}
# Keys a search cannot vary, and why.
NOT_SEARCHABLE = {
    "tune.": "the search's own settings cannot be searched",
    "run_name": "it only names a directory",
    "export.": "export settings do not change a trial",
    "train.epochs": "the epochs of a trial are tune.max_epochs (Hyperband sets its own)",
    "runtime.logical_cpus": "TensorFlow fixes its devices once per process",
    "runtime.deterministic": "op determinism cannot be turned off within a process",
}
_NULLS = (None, "null", "none", "None")
# A key's value converter: (where, raw value) -> the value as the key's type (ConfigError).
Converter = Callable[[str, Any], Any]


def _kind(tp: Any) -> str:
    """The searchable kind of an annotated config type: int, float, bool, str, fixed, other."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        kinds = {_kind(a) for a in typing.get_args(tp) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else "other"
    if origin is Literal:
        return "fixed"
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(tp, "other")


def config_key_kinds(cls: type = ExperimentConfig, prefix: str = "") -> dict[str, str]:
    """Every leaf config key (dotted) and its searchable kind."""
    kinds = {}
    for name, tp in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(tp):
            kinds.update(config_key_kinds(tp, f"{prefix}{name}."))
        else:
            kinds[f"{prefix}{name}"] = _kind(tp)
    return kinds


def _leaves(node: dict, prefix: str = ""):
    """(dotted path, value) for every non-mapping value of a nested mapping."""
    for name, value in node.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _leaves(value, f"{path}.")
        else:
            yield path, value


def normalize_space(raw: dict, kinds: dict[str, str]) -> dict[str, dict]:
    """Dotted and nested space entries merged into ``{config_key: {field: raw value}}``."""
    specs: dict[str, dict] = {}
    dropped = set()
    for path, value in _leaves(raw):
        key, _, spec_field = path.rpartition(".")
        if key and spec_field in SPEC_FIELDS:
            spec = specs.setdefault(key, {})
            if value in _NULLS:  # ``--set tune.space.K.step=null`` drops one field
                spec.pop(spec_field, None)
            else:
                spec[spec_field] = value
        elif value in _NULLS:
            dropped.add(path)
        elif key in kinds:
            raise ConfigError(f"tune.space.{path}: unknown field; expected one of "
                              f"{', '.join(SPEC_FIELDS)}")
        else:
            raise ConfigError(
                f"tune.space.{path}: expected a mapping such as "
                "{type: float, min: 0.0001, max: 0.01, log: true}, or null to drop the key"
            )
    return {key: spec for key, spec in specs.items() if key not in dropped}


def _typed(cfg: ExperimentConfig, key: str, where: str, value: Any) -> Any:
    """``value`` converted to ``key``'s type and checked by the config's own rules."""
    if value in _NULLS or isinstance(value, dict | list):
        raise ConfigError(f"{where}: expected a single value of {key}, got {value!r}")
    try:
        checked = with_changes(cfg, {key: value})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {str(exc).removeprefix(f'{key}: ')}") from None
    node: Any = checked
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _flag(where: str, value: Any) -> bool:
    """A spec's boolean field (``log``), from YAML or a ``--set`` string."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def _check_key(key: str, kinds: dict[str, str]) -> str:
    """The key's kind; unknown or unsearchable keys are a ConfigError."""
    if key not in kinds:
        close = difflib.get_close_matches(key, list(kinds), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"tune.space.{key}: unknown config key{hint}")
    for prefix, reason in NOT_SEARCHABLE.items():
        if key == prefix or (prefix.endswith(".") and key.startswith(prefix)):
            raise ConfigError(f"tune.space.{key}: cannot be searched ({reason})")
    if kinds[key] == "other":
        raise ConfigError(f"tune.space.{key}: cannot be searched (not a single number, "
                          "string or flag)")
    return kinds[key]


def _resolve_range(typed: Converter, spec: dict, where: str) -> dict:
    """The int/float fields: min <= max, log needs min > 0, step > 0 (> 1 on a log scale)."""
    for name in ("min", "max"):
        if name not in spec:
            raise ConfigError(f"{where}.{name}: required for type {spec['type']}")
    lo = typed(f"{where}.min", spec["min"])
    hi = typed(f"{where}.max", spec["max"])
    if spec["type"] == "int" and not (float(lo).is_integer() and float(hi).is_integer()):
        raise ConfigError(f"{where}: type int needs integer min and max, got {lo} and {hi}")
    if lo > hi:
        raise ConfigError(f"{where}: expected min <= max, got min {lo} > max {hi}")
    if spec["type"] == "int":
        lo, hi = int(lo), int(hi)
    log = _flag(f"{where}.log", spec.get("log", False))
    if log and lo <= 0:
        raise ConfigError(f"{where}.min: a log scale needs min > 0, got {lo}")
    resolved = {"type": spec["type"], "min": lo, "max": hi, "log": log}
    if spec.get("step") is not None:
        try:
            step = float(spec["step"])
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.step: expected a number, got {spec['step']!r}") from None
        if step <= (1 if log else 0):
            need = "> 1 (a factor) on a log scale" if log else "> 0"
            raise ConfigError(f"{where}.step: expected a step {need}, got {step:g}")
        if spec["type"] == "int" and not step.is_integer():
            raise ConfigError(f"{where}.step: type int needs an integer step, got {step:g}")
        resolved["step"] = int(step) if spec["type"] == "int" else step
    return resolved


def _resolve_spec(key: str, spec: dict, kind: str, typed: Converter) -> dict:
    """One spec checked against its key (of ``kind``) and converted to its canonical form,
    its values by ``typed``."""
    where = f"tune.space.{key}"
    spec_type = spec.get("type")
    if spec_type not in TYPES:
        raise ConfigError(f"{where}.type: expected one of {', '.join(TYPES)}, got {spec_type!r}")
    fits = {"int": ("int", "float"), "float": ("float",), "bool": ("bool",)}
    if spec_type in fits and kind not in fits[spec_type]:
        allowed = [t for t, k in fits.items() if kind in k] + ["choice"]
        raise ConfigError(f"{where}.type: {key} holds {kind} values; use type "
                          f"{' or '.join(allowed)}, not {spec_type}")
    allowed_fields = FIELDS_BY_TYPE[spec_type]
    extra = sorted(set(spec) - set(allowed_fields))
    if extra:
        raise ConfigError(f"{where}.{extra[0]}: not a field of type {spec_type} "
                          f"(its fields: {', '.join(allowed_fields)})")
    if spec_type in ("int", "float"):
        return _resolve_range(typed, spec, where)
    if spec_type == "bool":
        return {"type": "bool"}
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}.values: expected a non-empty list, got {values!r}")
    choices = [typed(f"{where}.values[{i}]", v) for i, v in enumerate(values)]
    if len({repr(v) for v in choices}) != len(choices):
        raise ConfigError(f"{where}.values: expected distinct values, got {values}")
    return {"type": "choice", "values": choices}


def resolve_space(cfg: ExperimentConfig) -> dict[str, dict]:
    """``tune.space`` validated against the config's real keys, in canonical form."""
    kinds = config_key_kinds()
    specs = normalize_space(cfg.tune.space, kinds)
    if not specs:
        raise ConfigError("tune.space: expected at least one key to search")
    return {key: _resolve_spec(key, spec, _check_key(key, kinds),
                               functools.partial(_typed, cfg, key))
            for key, spec in specs.items()}


def base_values(cfg: ExperimentConfig) -> dict[str, Any]:
    """The config's own value of every dotted key (the starting point of a search)."""
    return dict(_leaves(to_dict(cfg)))


def to_hyperparameters(space: dict[str, dict], base: dict[str, Any]):
    """KerasTuner HyperParameters for a resolved space; defaults are ``base``'s values
    (``base_values`` of the config)."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for key, spec in space.items():
        value = base[key]
        if spec["type"] == "choice":
            hp.Choice(key, spec["values"], default=value if value in spec["values"] else None)
        elif spec["type"] == "bool":
            hp.Boolean(key, default=bool(value))
        else:
            inside = value is not None and spec["min"] <= value <= spec["max"]
            if spec["type"] == "int":
                inside = inside and float(value).is_integer()
                value = int(value) if inside else None
            make = hp.Int if spec["type"] == "int" else hp.Float
            make(key, spec["min"], spec["max"], step=spec.get("step"),
                 sampling="log" if spec["log"] else "linear",
                 default=value if inside else None)
    return hp
