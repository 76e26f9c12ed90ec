"""No pickle, exec, eval, unsafe YAML or disabled safe mode anywhere in the package (AST scan,
so that docstrings and comments that mention them do not count)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "bigmodel_tf"
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
UNSAFE_YAML = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load",
               "full_load_all"}


def _findings(path: Path) -> list[str]:
    """Every forbidden construct in one source file, as 'file:line: what'."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(PACKAGE.parent)
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        found += [f"{where}:{node.lineno}: imports {n}" for n in names
                  if n.split(".")[0] in FORBIDDEN_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
            found.append(f"{where}:{node.lineno}: calls {func.id}()")
        if (isinstance(func, ast.Attribute) and func.attr in UNSAFE_YAML
                and isinstance(func.value, ast.Name) and func.value.id == "yaml"):
            found.append(f"{where}:{node.lineno}: calls yaml.{func.attr}()")
        if isinstance(func, ast.Attribute) and func.attr == "system" and (
                isinstance(func.value, ast.Name) and func.value.id == "os"):
            found.append(f"{where}:{node.lineno}: calls os.system()")
        for keyword in node.keywords:
            value = keyword.value
            constant = value.value if isinstance(value, ast.Constant) else None
            if keyword.arg == "safe_mode" and constant is not True:
                found.append(f"{where}:{node.lineno}: safe_mode is not literally True")
            if keyword.arg in ("allow_pickle", "shell") and constant is not False:
                found.append(f"{where}:{node.lineno}: {keyword.arg}={ast.unparse(value)}")
        if (isinstance(func, ast.Attribute) and func.attr == "load_model"
                and not any(k.arg == "safe_mode" for k in node.keywords)):
            found.append(f"{where}:{node.lineno}: load_model without safe_mode=True")
    return found


def test_the_package_has_no_unsafe_deserialization_or_dynamic_code():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    findings = [f for path in files for f in _findings(path)]
    assert findings == []


def test_the_scan_finds_what_it_looks_for(monkeypatch):
    bad = PACKAGE / "_scan_probe.py"  # a path under the package, never written to disk
    sources = {
        "import pickle": "imports pickle", "eval('1')": "calls eval()",
        "yaml.load(text)": "calls yaml.load()", "m = load_model(p, safe_mode=False)":
        "safe_mode is not literally True", "keras.models.load_model(p)":
        "load_model without safe_mode=True", "np.load(p, allow_pickle=True)":
        "allow_pickle=True", "subprocess.run(c, shell=True)": "shell=True",
    }
    for source, expected in sources.items():
        monkeypatch.setattr(Path, "read_text", lambda self, encoding=None, s=source: s)
        (finding,) = _findings(bad)
        assert finding.endswith(expected), (source, finding)
