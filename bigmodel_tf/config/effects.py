"""Which config keys change a run: key sets derived from every field's declared ``effect``.

Each field of the config dataclasses declares its effect (bigmodel_tf.config.sections,
``EFFECTS``); this module is the one place that turns those declarations into the key sets
the stages use:

- ``config_hash`` (and so the default run name) covers ``RUN_EFFECTS`` keys: data,
  result and evaluation keys; a run directory refuses a config that differs in one of
  them and resumes across the others (``run_state``);
- the in-process cache of the data splits is keyed on the ``data`` keys;
- a search resumes across pipeline and ``none`` keys (``tune.max_trials`` among them);
- a finished evaluation sub-run is reused across everything but data and result keys.

A key that no field declares (a saved config from another version) always counts as a
difference.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from typing import Any

from bigmodel_tf.config.experiment import PROVENANCE_KEYS, ExperimentConfig
from bigmodel_tf.config.sections import EFFECTS

RUN_EFFECTS = ("data", "result", "evaluation")  # what a run directory's results depend on
NOT_RUN_EFFECTS = tuple(e for e in EFFECTS if e not in RUN_EFFECTS)


def _declared(cls: type, prefix: str = "") -> dict[str, str]:
    """Every leaf key (dotted) of dataclass ``cls`` and its declared effect."""
    hints = typing.get_type_hints(cls)
    effects = {}
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            effects.update(_declared(hints[f.name], f"{key}."))
            continue
        kind = f.metadata.get("effect", getattr(cls, "default_effect", None))
        if kind not in EFFECTS:
            raise TypeError(f"{key}: declares no effect (field metadata or section_effect)")
        effects[key] = kind
    return effects


KEY_EFFECTS: dict[str, str] = _declared(ExperimentConfig)


def effect_of(key: str) -> str | None:
    """The effect of a dotted key, or of the field holding it (``tune.space.model.width``
    is in ``tune.space``); None for a key no field declares."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        kind = KEY_EFFECTS.get(".".join(parts[:end]))
        if kind is not None:
            return kind
    return None


def keys_with(*effects: str) -> frozenset[str]:
    """The dotted leaf keys whose effect is one of ``effects``."""
    unknown = set(effects) - set(EFFECTS)
    if unknown:
        raise ValueError(f"keys_with: unknown effect {sorted(unknown)[0]!r}")
    return frozenset(k for k, kind in KEY_EFFECTS.items() if kind in effects)


def select(tree: dict, keys: Iterable[str], prefix: str = "") -> dict:
    """The nested dict ``tree`` (a config as ``to_dict`` gives it) with only ``keys``."""
    keys = frozenset(keys)
    kept = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if key in keys:
            kept[name] = value
        elif isinstance(value, dict):
            inner = select(value, keys, f"{key}.")
            if inner:
                kept[name] = inner
    return kept


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Dotted keys of a nested dict: {"train.epochs": 5, ...}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differences(saved: dict, current: dict, ignore: Iterable[str] = ()) -> list[str]:
    """``key: saved -> current`` for every dotted key whose value differs, leaving out keys
    whose effect is in ``ignore`` (provenance keys are never compared)."""
    ignore = set(ignore)
    a = _flatten({k: v for k, v in saved.items() if k not in PROVENANCE_KEYS})
    b = _flatten({k: v for k, v in current.items() if k not in PROVENANCE_KEYS})
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k) and effect_of(k) not in ignore]
