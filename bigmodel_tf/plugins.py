"""Plug-ins: ``model.name`` and ``data.name`` given as ``package.module:function``.

A model plug-in is a builder with the zoo's signature, ``build(model_cfg, spec, keras)``
(bigmodel_tf/models/); a data plug-in is a source with the built-in sources' signature,
``load(data_cfg, seed) -> RawData`` (bigmodel_tf/data/registry.py). The config checks
import each plug-in and bind its signature when a config is built, so a path that does not
import, names a missing attribute or has the wrong signature is a one-line ConfigError
before any data is read. Importing the plug-in's module also registers its custom Keras
layers, which safe loading of its models needs.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Sequence

from bigmodel_tf.errors import ConfigError

PLUGIN_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
# The arguments each kind of plug-in is called with: positional names, keyword names.
SIGNATURES = {
    "model.name": (("model_cfg", "spec"), ("keras",)),
    "data.name": (("data_cfg", "seed"), ()),
}


def is_plugin_path(value: object) -> bool:
    """Whether ``value`` has the form ``package.module:function``."""
    return isinstance(value, str) and PLUGIN_PATH.fullmatch(value) is not None


def name_error(key: str, builtins: Sequence[str], value: object) -> ConfigError:
    """The error for a name that is neither a built-in one nor a plug-in path."""
    return ConfigError(
        f"{key}: expected one of {', '.join(builtins)} or an importable "
        f"'package.module:function', got {value!r}"
    )


def _signature_text(key: str) -> str:
    """How a plug-in of ``key`` must be called, e.g. ``(model_cfg, spec, keras)``."""
    positional, keywords = SIGNATURES[key]
    return f"({', '.join((*positional, *keywords))})"


def load_plugin(key: str, path: str) -> Callable:
    """The function a plug-in path names, checked to take ``key``'s arguments (ConfigError)."""
    module_name, _, attr = path.partition(":")
    where = f"{key}={path}"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any failure is theirs to fix
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{where}: cannot import {module_name} ({reason})") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ConfigError(f"{where}: module {module_name} has no function {attr}")
    positional, keywords = SIGNATURES[key]
    try:
        inspect.signature(function).bind(*positional, **dict.fromkeys(keywords))
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: expected a function {attr}{_signature_text(key)}, "
            f"got {attr}{_describe_signature(function)}"
        ) from None
    return function


def _describe_signature(function: Callable) -> str:
    """A function's parameter list as text (or ``(...)`` when Python cannot tell)."""
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"


def path_name(name: str) -> str:
    """``name`` fit for file and export names: a plug-in path's ``:`` becomes ``.``."""
    return name.replace(":", ".")


def plugin_packages(*names: str) -> tuple[str, ...]:
    """The top-level packages of the plug-in paths among ``names`` (for safe loading)."""
    return tuple(name.split(".", 1)[0].split(":", 1)[0] for name in names
                 if is_plugin_path(name))
