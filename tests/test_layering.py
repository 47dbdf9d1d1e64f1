"""One-way arrows and one home per fact, read from the source (ast): the suites talk to the reference camera as
to any camera, and the facts the spec fixes are written in spec/ alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITES = sorted((ROOT / "suites").glob("*.py"))
PACKAGE = ROOT / "pytest_bview"


def _imports(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, module, name) of every import; `import a.b` gives (line, "a.b", "")."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.lineno, node.module, alias.name) for alias in node.names]
    return out


@pytest.mark.parametrize("path", SUITES, ids=[p.name for p in SUITES])
def test_a_suite_imports_nothing_of_the_simulator_nor_private_names(path: Path) -> None:
    """Suites reach the reference camera through the API and the lab (lab.py), never through its code or store:
    no import of pytest_bview.simulator, no `_private` name of a kit module, no `.sim` of the target."""
    tree = ast.parse(path.read_text("utf-8"))
    wrong = []
    for line, module, name in _imports(tree):
        whole = f"{module}.{name}" if name else module
        if whole == "pytest_bview.simulator" or whole.startswith("pytest_bview.simulator."):
            wrong.append(f"{path.name}:{line} imports {whole}")
        elif module.startswith("pytest_bview") and (name or module.rpartition(".")[2]).startswith("_"):
            wrong.append(f"{path.name}:{line} imports the private {whole}")
    wrong += [
        f"{path.name}:{node.lineno} reads .sim (the built-in camera's internals)"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "sim"
    ]
    assert not wrong, "; ".join(wrong)


def _literals(path: Path) -> list[tuple[int, str]]:
    """String constants of a module, its docstrings left out."""
    tree = ast.parse(path.read_text("utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


CODE = [p for p in [*sorted(PACKAGE.rglob("*.py")), *SUITES] if "spec" not in p.relative_to(ROOT).parts]
# a fact of spec/ written as a literal: the RTSP paths (chapter 8, spec/streams.py)
FACT_LITERALS = ("/live/0/main", "/live/0/sub")


def test_rtsp_paths_have_one_home() -> None:
    """Chapter 8's RTSP paths are written in spec/ only; the camera, the kit and the suites import them
    (a test input that is deliberately another path is a literal of its own, e.g. the fuzzers' "/nope")."""
    found = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in CODE
        if p.name != "fuzzing.py"  # test inputs, not the rule
        for line, value in _literals(p)
        if value in FACT_LITERALS
    ]
    assert not found, f"RTSP paths retyped outside spec/: {found}"


def test_restart_on_save_comes_from_the_spec() -> None:
    """The camera restarts after saving exactly the resources the spec flags `restart` (9.1.4, 9.1.5), plus
    the wired address it applies for real (netif.py)."""
    from pytest_bview.simulator import camera  # noqa: F401  (its areas register theirs: netif.py)
    from pytest_bview.simulator.extensions import RESTART_ON_SAVE
    from pytest_bview.spec.facts import RESTART_ON_SAVE as SPEC

    assert SPEC == ("/Network/Port", "/Network/P2P")
    assert RESTART_ON_SAVE[: len(SPEC)] == list(SPEC)
