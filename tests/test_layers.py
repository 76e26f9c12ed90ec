"""The import layers: imports run one way, cli -> experiments -> stages -> data -> base.

Every module of bigmodel_tf is parsed with ``ast``; its imports (at module level and
inside functions alike, plus ``importlib.import_module("bigmodel_tf....")`` calls) give
edges between units: a subpackage (``training``) or a top-level module (``io``). The test
fails on any import cycle between units, on any import from a lower layer into a higher
one, and on the stage imports the architecture forbids (training never imports
evaluation or export; evaluation never imports training). A unit missing from LAYERS
fails too, so a new package is placed on purpose.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bigmodel_tf"

# Lowest first; a unit may import units of its own layer (without cycles) and below.
LAYERS = (
    ("bigmodel_tf", "errors", "io", "remote", "remote_run", "run_lock", "tf_startup", "compat",
     "plugins", "plots", "markdown"),  # base modules
    ("config",),
    ("data", "models", "tasks", "tracking"),
    ("manifest", "history", "loading", "finished_run"),  # the run folder, below every stage
    ("training", "evaluation", "export", "compression"),  # the stages
    ("experiments", "tuning", "benchmarks"),  # loops over the stages
    ("cli",),
)
FORBIDDEN = {("training", "evaluation"), ("training", "export"), ("training", "compression"),
             ("evaluation", "training")}
LAYER_OF = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def _module_name(path: Path, root: Path) -> str:
    """``bigmodel_tf.training.trainer`` for root/training/trainer.py."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module name ``tree`` imports, anywhere in it (relative imports resolved)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


def _unit(module: str, root_name: str) -> str | None:
    """The unit of a module name: its subpackage or top-level module (None: not ours)."""
    parts = module.split(".")
    if parts[0] != root_name:
        return None
    return parts[1] if len(parts) > 1 else root_name


def import_edges(root: Path) -> dict[tuple[str, str], str]:
    """(importing unit, imported unit) -> one module where that import is written."""
    edges = {}
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        source = _unit(module, root.name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _imported(tree, module, path.name == "__init__.py"):
            target = _unit(name, root.name)
            known = target in LAYER_OF or (root / f"{target}.py").exists() or (
                root / str(target)).is_dir()
            if target is not None and target != source and known:
                edges.setdefault((source, target), module)
    return edges


def _cycles(edges) -> list[str]:
    """``a -> b -> a`` for every pair of units that reach each other."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return False

    return sorted({" <-> ".join(sorted((a, b))) for a, b in edges if reaches(b, a)})


def layer_problems(root: Path) -> list[str]:
    """Every cycle, upward import, forbidden stage import and unplaced unit under ``root``."""
    edges = import_edges(root)
    problems = [f"import cycle: {pair}" for pair in _cycles(edges)]
    units = {u for edge in edges for u in edge}
    problems += [f"{unit}: not in LAYERS" for unit in sorted(units - set(LAYER_OF))]
    for (a, b), where in sorted(edges.items()):
        if a in LAYER_OF and b in LAYER_OF and LAYER_OF[a] < LAYER_OF[b]:
            problems.append(f"{where} imports {b}: a lower layer importing a higher one")
        if (a, b) in FORBIDDEN:
            problems.append(f"{where} imports {b}: the stage {a} must not import {b}")
    return problems


def test_imports_run_one_way():
    assert layer_problems(PACKAGE) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    """A small package tree under root/bigmodel_tf (name -> source)."""
    for name, source in files.items():
        path = root / "bigmodel_tf" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "bigmodel_tf"


@pytest.mark.parametrize("files, expected", [
    # The cycle main had: training evaluates at its end, evaluation's CV trains again
    # (a function-level import held it open).
    ({"training/__init__.py": "", "training/train.py": "from bigmodel_tf.evaluation import stage\n",
      "evaluation/__init__.py": "",
      "evaluation/cv.py": "def folds():\n    from bigmodel_tf.training import train\n"},
     ["import cycle: evaluation <-> training",
      "bigmodel_tf.evaluation.cv imports training: the stage evaluation must not import training",
      "bigmodel_tf.training.train imports evaluation: the stage training must not import "
      "evaluation"]),
    ({"data/__init__.py": "import importlib\nimportlib.import_module('bigmodel_tf.cli')\n",
      "cli.py": ""},
     ["bigmodel_tf.data imports cli: a lower layer importing a higher one"]),
    ({"newpkg/__init__.py": "from bigmodel_tf import io\n", "io.py": ""},
     ["newpkg: not in LAYERS"]),
])
def test_the_check_finds_cycles_upward_and_unplaced_imports(tmp_path, files, expected):
    assert layer_problems(_write(tmp_path, files)) == expected
