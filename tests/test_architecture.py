"""The shape of the house: arrows point down (suites -> kit -> protocol -> spec; simulator -> protocol -> spec).

Rule 1: the import graph of `pytest_bview` is read with `ast`, so an import inside a function counts as
        much as one at module level (a lazy import is still a dependency).
Rule 2: the graph has no circles. An import under `if TYPE_CHECKING:` names a type for the checker and runs
        never, so it is left out of the circles (an area may annotate with the `Camera` that loads it), while
        the boundaries of Rule 3 count it like any other.
Rule 3: the reference camera (`pytest_bview/simulator/`) imports only itself, `spec/`, `protocol/` and the few
        shared utilities of `SIMULATOR_UTILITIES`; `protocol/` imports only `spec/` and itself; `suites/` do not
        import the simulator (they talk to it as to any camera).

Run `python tests/test_architecture.py` to print the figures and every edge that breaks a rule.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "pytest_bview"

# Small modules the camera may share with the kit: the version it announces, the console helper of its CLI,
# the multicast sockets of its discovery responders and the crash-safe file write (no kit logic in any of them).
SIMULATOR_UTILITIES = frozenset(
    {"pytest_bview", "pytest_bview.console", "pytest_bview.multicast", "pytest_bview.files"}
)

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _nodes(tree: ast.AST, runtime: bool) -> list[ast.AST]:
    """Every node of `tree`; with `runtime`, without the bodies of `if TYPE_CHECKING:`."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if runtime and _is_type_checking(node):
            assert isinstance(node, ast.If)
            todo.append(node.test)
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def _imports(path: Path, name: str, known: set[str], runtime: bool = False) -> set[str]:
    """The `pytest_bview` modules that the module `name` (file `path`) imports, at any depth of its code."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def resolve(target: str) -> str | None:
        # `from pytest_bview.x import y` names module x.y when y is a submodule, else module x.
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    for node in _nodes(ast.parse(path.read_text("utf-8"), str(path)), runtime):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" for alias in node.names] + [module]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                targets = [node.args[0].value]
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                resolved = resolve(target)
                if resolved and resolved != name:
                    found.add(resolved)
    return found


def import_graph(root: Path = ROOT, *, runtime: bool = False) -> Graph:
    """Module -> the package modules it imports (module-level and function-level imports alike); with
    `runtime`, without the imports under `if TYPE_CHECKING:`."""
    files = {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}
    known = set(files)
    return {name: _imports(path, name, known, runtime) for name, path in files.items()}


def circles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def cycle_path(graph: Graph, component: list[str]) -> list[str]:
    """One concrete cycle through the first module of a circle, for the failure message."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return component


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def edges_out_of(
    graph: Graph, source: str, allowed: Iterable[str], utilities: frozenset[str] = frozenset()
) -> list[str]:
    """Edges from the modules under `source` to package modules outside `allowed` and `utilities`."""
    allowed = tuple(allowed)
    return sorted(
        f"{v} -> {w}"
        for v, targets in graph.items()
        if _under(v, source)
        for w in targets
        if not any(_under(w, a) for a in allowed) and w not in utilities
    )


def suite_imports_of(prefix: str, root: Path = ROOT) -> list[str]:
    """The imports of `prefix` (or below) by the modules of suites/."""
    found = []
    for path in sorted((root / "suites").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(_under(n, prefix) for n in names):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return sorted(set(found))


def figures(graph: Graph) -> str:
    """One line of figures: modules, edges, circles (imports that run), the camera's imports of the kit."""
    edges = sum(len(t) for t in graph.values())
    found = circles(import_graph(runtime=True))
    own = ("pytest_bview.simulator", "pytest_bview.spec", "pytest_bview.protocol")
    to_kit = edges_out_of(graph, "pytest_bview.simulator", own)
    outside = edges_out_of(graph, "pytest_bview.simulator", own, SIMULATOR_UTILITIES)
    names = ", ".join("/".join(m.rpartition(".")[2] for m in c) for c in found) or "none"
    return (
        f"import graph of {PACKAGE}: {len(graph)} modules, {edges} edges, {len(found)} circles ({names}), "
        f"{len(to_kit)} simulator->kit edges ({len(outside)} outside the utilities)"
    )


@pytest.fixture(scope="module")
def graph() -> Graph:
    g = import_graph()
    print("\n" + figures(g))
    return g


def test_the_reader_sees_function_level_imports(graph: Graph) -> None:
    """Rule 1: a lazy import is a dependency too: the catalogue's import of the camera inside `load_all` is seen,
    and so are the camera's explicit imports of its areas."""
    assert all(v in graph for targets in graph.values() for v in targets)
    assert "pytest_bview.simulator.camera" in graph["pytest_bview.simulator.catalog"]
    assert "pytest_bview.simulator.actions" in graph["pytest_bview.simulator.camera"]


def test_no_import_circles() -> None:
    """Rule 2: no module reaches itself through the imports that run."""
    runtime = import_graph(runtime=True)
    found = circles(runtime)
    assert not found, "import circles:\n" + "\n".join(" -> ".join(cycle_path(runtime, c)) for c in found)


def test_simulator_imports_only_spec_protocol_and_utilities(graph: Graph) -> None:
    """Rule 3: the reference camera is a program of its own that shares only the spec and the protocol layer."""
    bad = edges_out_of(
        graph,
        "pytest_bview.simulator",
        ("pytest_bview.simulator", "pytest_bview.spec", "pytest_bview.protocol"),
        SIMULATOR_UTILITIES,
    )
    assert not bad, "the simulator imports kit modules:\n" + "\n".join(bad)


def test_protocol_imports_only_spec(graph: Graph) -> None:
    """Rule 3: the sans-I/O protocol layer depends on the spec alone."""
    bad = edges_out_of(graph, "pytest_bview.protocol", ("pytest_bview.protocol", "pytest_bview.spec"))
    assert not bad, "the protocol layer imports:\n" + "\n".join(bad)


def test_spec_imports_only_spec(graph: Graph) -> None:
    """The bottom of the house: the spec as data imports nothing else of the package."""
    bad = edges_out_of(graph, "pytest_bview.spec", ("pytest_bview.spec",))
    assert not bad, "spec/ imports:\n" + "\n".join(bad)


def test_suites_do_not_import_the_simulator() -> None:
    """Rule 3: the suites talk to the reference camera only as to any camera."""
    found = suite_imports_of("pytest_bview.simulator")
    assert not found, "suites import the simulator at:\n" + "\n".join(found)


def test_the_checker_finds_a_circle(tmp_path: Path) -> None:
    """The rules can fail: a two-module circle and a camera importing the kit are both reported."""
    pkg = tmp_path / PACKAGE
    (pkg / "simulator").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pytest_bview import b\n")
    (pkg / "b.py").write_text("from . import a\n")
    (pkg / "simulator" / "__init__.py").write_text("")
    (pkg / "simulator" / "cam.py").write_text("from ..a import f\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pytest_bview import d\n")
    (pkg / "d.py").write_text("from pytest_bview import c\n")
    g = import_graph(tmp_path)
    assert circles(g) == [["pytest_bview.a", "pytest_bview.b"], ["pytest_bview.c", "pytest_bview.d"]]
    assert circles(import_graph(tmp_path, runtime=True)) == [["pytest_bview.a", "pytest_bview.b"]]
    assert edges_out_of(g, "pytest_bview.simulator", ("pytest_bview.simulator",)) == [
        "pytest_bview.simulator.cam -> pytest_bview.a"
    ]


if __name__ == "__main__":
    g = import_graph()
    print(figures(g))
    runtime = import_graph(runtime=True)
    for c in circles(runtime):
        print("circle:", " -> ".join(cycle_path(runtime, c)))
    for c in circles(g):
        print("circle counting type-only imports:", " -> ".join(cycle_path(g, c)))
    for e in edges_out_of(
        g, "pytest_bview.simulator", ("pytest_bview.simulator", "pytest_bview.spec", "pytest_bview.protocol")
    ):
        print("simulator->kit:", e)
    for e in edges_out_of(g, "pytest_bview.protocol", ("pytest_bview.protocol", "pytest_bview.spec")):
        print("protocol->kit:", e)
    for s in suite_imports_of("pytest_bview.simulator"):
        print("suite->simulator:", s)
