"""House rules of the package's code, checked on its source (issue 12, "one way for each thing").

- every module declares its public names in ``__all__`` (and they exist, none private);
- no module imports another module's ``_private`` name (make it public or move it);
- no function is longer than ~80 lines unless its docstring says why ("long");
- nothing calls the month helpers that ``Month`` replaced.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cs_metrics"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 80

# Modules and functions being reworked elsewhere when these rules were written (issue 16's
# performance work owns them); remove an entry when its module complies.
PENDING_ALL: set[str] = set()
PENDING_LONG: set[str] = set()


def _rel(p: Path) -> str:
    return p.relative_to(PACKAGE).as_posix()


def _tree(p: Path) -> ast.Module:
    return ast.parse(p.read_text("utf-8"))


def _defined(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for n in tree.body:
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(n.name)
        elif isinstance(n, ast.Assign | ast.AnnAssign):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            for t in targets:
                for x in ast.walk(t):
                    if isinstance(x, ast.Name):
                        names.add(x.id)
        elif isinstance(n, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in n.names)
    return names


def _all(tree: ast.Module) -> list[str] | None:
    for n in tree.body:
        target = n.targets[0] if isinstance(n, ast.Assign) else getattr(n, "target", None)
        if isinstance(target, ast.Name) and target.id == "__all__":
            value = n.value
            if isinstance(value, ast.List | ast.Tuple):  # literal names (starred parts skipped)
                return [e.value for e in value.elts if isinstance(e, ast.Constant)]
            return []
    return None


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_every_module_declares_its_public_names(path):
    if _rel(path) in PENDING_ALL:
        pytest.skip("pending (see PENDING_ALL)")
    tree = _tree(path)
    names = _all(tree)
    assert names is not None, f"{_rel(path)} has no __all__"
    defined = _defined(tree)
    assert not [x for x in names if x.startswith("_") and not x.startswith("__")], names
    assert not [x for x in names if x not in defined], f"{_rel(path)}: {names}"


def test_no_module_imports_a_private_name_of_another():
    bad = []
    for path in MODULES:
        for n in ast.walk(_tree(path)):
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("cs_metrics"):
                bad += [
                    f"{_rel(path)}:{n.lineno} {n.module}.{a.name}"
                    for a in n.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert not bad, bad


def test_functions_are_short_or_say_why():
    long = []
    for path in MODULES:
        for n in ast.walk(_tree(path)):
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = n.end_lineno - n.lineno + 1
                key = f"{_rel(path)}:{n.name}"
                doc = (ast.get_docstring(n) or "").lower()
                if lines > MAX_LINES and "long" not in doc and key not in PENDING_LONG:
                    long.append(f"{key} ({lines} lines)")
    assert not long, long


def test_the_package_passes_months_as_month():
    """``parse_month``/``index_to_month`` stay only for benchmarks/; the package uses Month."""
    legacy = {"parse_month", "index_to_month"}
    bad = []
    for path in MODULES:
        if _rel(path) == "periods.py":
            continue
        for n in ast.walk(_tree(path)):
            if isinstance(n, ast.ImportFrom) and n.module == "cs_metrics.periods":
                bad += [f"{_rel(path)}: {a.name}" for a in n.names if a.name in legacy]
    assert not bad, bad
