"""No import cycle between autolog's modules: the data path reads one way.

Every ``import`` counts, at the top of a module or inside a function alike: a
function-level import is still a dependency, and hiding a cycle in a function
only delays it. Imports under ``if TYPE_CHECKING:`` are left out, because they
never run. The graph is read from the source with :mod:`ast`, over ``autolog/``
and the ``backends/`` and ``integrations/`` folders that install inside it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"autolog": ROOT / "autolog", "autolog.backends": ROOT / "backends"}
PACKAGES["autolog.integrations"] = ROOT / "integrations"


def module_files() -> dict[str, Path]:
    """Every module's dotted name and its file."""
    modules: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports anywhere outside TYPE_CHECKING."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = name.split(".")
        base = base if is_package else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            # `from . import x` imports the module x of the package; `from .run
            # import Run` imports the module run.
            target = resolve(node)
            submodules = {f"{target}.{alias.name}" for alias in node.names} & known
            found.update(submodules or {target})
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {name: imported_modules(name, path, known) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_no_module_imports_itself_back_through_others() -> None:
    """No cycle in the import graph of autolog, its backends and its integrations."""
    graph = import_graph()
    assert len(graph) > 40, "the walk found too few modules: did the layout change?"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checker_sees_a_cycle_through_a_function_level_import() -> None:
    """The cycle finder is not vacuous: a lazy import back to the importer is a cycle."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_function_level_and_relative_imports_are_counted(tmp_path: Path) -> None:
    """``from ..run import Run`` inside a function is an edge; TYPE_CHECKING imports are not."""
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..session import Session\n"
        "def f():\n    from ..run import Run\n    from . import _common\n"
    )
    known = {"pkg.run", "pkg.session", "pkg.sub._common", "pkg.sub.mod"}
    assert imported_modules("pkg.sub.mod", source, known) == {"pkg.run", "pkg.sub._common"}


@pytest.mark.parametrize("module", ["autolog.run", "autolog._session"])
def test_run_and_session_do_not_import_each_other(module: str) -> None:
    """The run knows nothing of the session; the session creates runs."""
    graph = import_graph()
    assert "autolog._session" not in graph["autolog.run"]
    assert module in graph
