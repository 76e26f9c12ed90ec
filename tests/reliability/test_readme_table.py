"""The README's Reliability table names tests that exist (so the table cannot go stale)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_test_in_the_reliability_table_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|")[2] for line in section.splitlines() if line.startswith("| ")][1:]
    assert len(cells) >= 25
    for cell in cells:
        path = None
        for reference in re.findall(r"`([^`]+)`", cell):
            file, _, name = reference.partition("::")
            path = ROOT / file if file else path  # "::name" continues the previous file
            assert path is not None and path.is_file(), reference
            if name:
                tree = ast.parse(path.read_text(encoding="utf-8"))
                names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
                assert name in names, reference
