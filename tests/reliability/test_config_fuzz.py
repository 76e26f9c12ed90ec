"""Fuzzing the config loader and the --set parser (Hypothesis): any input gives a valid
config or a ConfigError (the one-line error contract), never another exception."""

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bigmodel_tf.config import ExperimentConfig, load_config, to_dict
from bigmodel_tf.errors import ConfigError


def _dotted(tree: dict, prefix: str = "") -> list[str]:
    """Every dotted key of the config."""
    keys = []
    for key, value in tree.items():
        keys += _dotted(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
    return keys


KEYS = _dotted(to_dict(ExperimentConfig()))
SECTIONS = sorted({k.split(".")[0] for k in KEYS if "." in k})
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["null", "none", "[1, 2]", "[", "1e400", "nan", "-inf", "2001-13-45",
                     "true", "0x10", "1_000", "[[1]]", "{a: 1}"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)
key_texts = st.one_of(st.sampled_from(KEYS), st.sampled_from(SECTIONS), st.text(max_size=20),
                      st.sampled_from(KEYS).map(lambda k: k + ".x"))


def accepted_or_config_error(call) -> None:
    """Run ``call``; it must return an ExperimentConfig or raise ConfigError."""
    try:
        cfg = call()
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(cfg, ExperimentConfig)


@FUZZ
@given(st.lists(st.tuples(key_texts, st.one_of(st.text(max_size=30), scalars.map(str))),
                max_size=5))
@example([("0\n0", "None")])  # a key with a newline: the message must stay one line
def test_set_overrides(pairs):
    overrides = [f"{key}={value}" for key, value in pairs]
    accepted_or_config_error(lambda: load_config(overrides=overrides))


DEEP = "[" * 5000 + "]" * 5000  # nesting deeper than Python's recursion limit


@FUZZ
@given(st.lists(st.text(max_size=40), max_size=4))
@example(["data.image_size=[2001-13-45]"])  # YAML reads an impossible date: ValueError
@example([f"data.image_size={DEEP}"])
@example(["=", "a.=1", ".a=1", "train=1", "train.epochs.x=1", "train.epochs=1", "train.x=2"])
def test_raw_set_arguments(arguments):
    accepted_or_config_error(lambda: load_config(overrides=arguments))


@FUZZ
@given(st.dictionaries(key_texts, values, max_size=6))
@example({"data.image_size": "["})  # a list key given a string that is not YAML
@example({"data.image_size": "[2001-13-45]"})
@example({"train.a\nb": 1})
def test_yaml_files_with_config_like_content(content):
    nested: dict = {}
    for dotted, value in content.items():
        node, *parts = nested, *dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {}) if isinstance(node, dict) else node
        if isinstance(node, dict):
            node[parts[-1]] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(yaml.safe_dump(nested), encoding="utf-8")
        accepted_or_config_error(lambda: load_config(path))


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(
    lambda b: b.decode("latin-1"))))
@example("seed: 2001-13-45")
@example(DEEP)
@example("train: &a [*a]")
@example("1: a\nb: c\ntrain: {2: x, epochs: 1}")  # number and text keys side by side
@example('seed: !!python/object/apply:os.system ["echo unsafe"]')
def test_arbitrary_yaml_text(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        accepted_or_config_error(lambda: load_config(path))
