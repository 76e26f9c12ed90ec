"""The README's tour runs as written: every line parses, its config and keys are valid,
every run it names was made by a line before it, and its example inputs can be made."""

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bigmodel_tf.cli import build_parser
from bigmodel_tf.config import load_config
from bigmodel_tf.tuning.settings import load_tune_config

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "scripts" / "make_examples.py"


def tour_lines() -> list[list[str]]:
    """The tour's commands, each split into words (comments dropped)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## A tour", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def bigmodel_argv(words: list[str]) -> list[str] | None:
    """The ``bigmodel`` arguments a tour line stands for; None for other tools."""
    if words[0] == "bigmodel":
        return words[1:]
    if words[:2] == ["python", "scripts/train.py"]:
        return ["train", *words[2:]]
    return None


def test_every_tour_line_parses_and_names_only_runs_made_before_it(monkeypatch):
    monkeypatch.chdir(ROOT)
    parser, made = build_parser(), set()
    lines = tour_lines()
    assert lines[0] == ["python", "scripts/make_examples.py"]
    for words in lines:
        argv = bigmodel_argv(words)
        if argv is None:
            continue
        args = parser.parse_args(argv)
        if getattr(args, "run", None):
            assert args.run in made, f"{shlex.join(words)}: no earlier line makes {args.run}"
            continue
        load = load_tune_config if args.command == "tune" else load_config
        load(args.config, args.overrides)  # raises ConfigError on a bad key or value
        if getattr(args, "run_dir", None):
            made.add(args.run_dir)
    assert made, "the tour names no run directory for its export/compress/evaluate lines"


def test_make_examples_writes_the_tour_inputs_once(tmp_path):
    first = subprocess.run([sys.executable, str(EXAMPLES), "--out", str(tmp_path)],
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    lines = (tmp_path / "my.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 179 and lines[0].endswith(",target")
    classes = sorted(p.name for p in (tmp_path / "photos").iterdir())
    assert classes == [str(d) for d in range(10)]
    assert sum(1 for _ in (tmp_path / "photos").rglob("*.png")) == 1797
    before = (tmp_path / "my.csv").stat().st_mtime_ns
    again = subprocess.run([sys.executable, str(EXAMPLES), "--out", str(tmp_path)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "already exists; nothing was written" in again.stderr
    assert (tmp_path / "my.csv").stat().st_mtime_ns == before


@pytest.mark.parametrize("name", ["csv", "image_dir"])
def test_the_example_inputs_load_as_their_data_source(tmp_path, name):
    from bigmodel_tf.data.splits import load_splits

    subprocess.run([sys.executable, str(EXAMPLES), "--out", str(tmp_path)], check=True,
                   capture_output=True, timeout=300)
    settings = {"csv": ["data.name=csv", f"data.path={tmp_path / 'my.csv'}",
                        "data.label=target"],
                "image_dir": ["data.name=image_dir", f"data.path={tmp_path / 'photos'}",
                              "data.image_size=[16,16]"]}[name]
    splits = load_splits(load_config(None, settings))
    assert len(splits.spec.class_names) == (3 if name == "csv" else 10)
    assert len(splits.train.y) + len(splits.val.y) + len(splits.test.y) == (
        178 if name == "csv" else 1797)
