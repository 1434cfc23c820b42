"""The notebooks are the edited source: clean (no outputs), one typed parameters cell, and code
cells that only call cs_metrics and lay out - no business logic."""

from __future__ import annotations

import ast
import json

import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPORTS = [p for p in NOTEBOOKS if p.stem in ("monthly_kpi", "churn_target_review")]

# Node types that mean computation rather than layout: loops, definitions, comprehensions,
# arithmetic, conditionals. A report notebook only assigns names, calls and imports.
LOGIC = (
    ast.For,
    ast.While,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.BinOp,
    ast.IfExp,
    ast.If,
    ast.Try,
    ast.With,
)


def _cells(path):
    return json.loads(path.read_text("utf-8"))["cells"]


def _code(cell) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean_with_one_parameters_cell(path):
    cells = _cells(path)
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0], "exactly one parameters cell, first"
    nb = json.loads(path.read_text("utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "cs-metrics"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_imports_come_from_cs_metrics(path):
    for cell in _cells(path)[1:]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse(_code(cell))):
            if isinstance(node, ast.ImportFrom):
                assert node.module.startswith("cs_metrics"), node.module
            elif isinstance(node, ast.Import):
                assert all(a.name.startswith("cs_metrics") for a in node.names)


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_report_notebooks_hold_no_business_logic(path):
    for cell in _cells(path)[1:]:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse(_code(cell))
        bad = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, LOGIC)]
        assert not bad, f"{path.name}: logic in a code cell ({bad}):\n{_code(cell)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_plain_assignments(path):
    tree = ast.parse(_code(_cells(path)[0]))
    for node in tree.body:
        assert isinstance(node, ast.Assign | ast.AnnAssign | ast.ImportFrom), ast.dump(node)
