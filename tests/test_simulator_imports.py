"""The simulator's modules import each other as a tree, never in a circle.

Every import counts, including those under TYPE_CHECKING and inside functions: a cycle
hidden behind TYPE_CHECKING still means the modules cannot be read, tested or changed one
at a time (the handlers once took the server, and the server imported the handlers).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import feeds.simulator

PACKAGE = "feeds.simulator"
ROOT = Path(feeds.simulator.__file__).parent


def _modules() -> dict[str, Path]:
    """The package's modules by dotted name; the package's __init__ only re-exports."""
    return {f"{PACKAGE}.{p.stem}": p for p in sorted(ROOT.glob("*.py")) if p.stem != "__init__"}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The simulator modules that ``path`` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in modules:
                found.add(node.module)
            elif node.module == PACKAGE:  # from feeds.simulator import feeds_api
                found.update(
                    f"{PACKAGE}.{a.name}" for a in node.names if f"{PACKAGE}.{a.name}" in modules
                )
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for nxt in sorted(graph[name]):
            if found := visit(nxt, [*path, name]):
                return found
        done.add(name)
        return None

    for start in sorted(graph):
        if found := visit(start, []):
            return found
    return None


def test_the_cycle_finder_sees_a_circle_behind_type_checking() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_simulator_modules_import_each_other_as_a_tree() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    assert {f"{PACKAGE}.app", f"{PACKAGE}.feeds_api", f"{PACKAGE}.orders_api"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_api_handlers_take_the_state_not_the_server() -> None:
    modules = _modules()
    for handler_module in ("feeds_api", "orders_api"):
        assert f"{PACKAGE}.app" not in _imports(modules[f"{PACKAGE}.{handler_module}"], modules)


def test_each_simulator_module_imports_alone_in_a_fresh_interpreter() -> None:
    names = sorted(_modules())
    code = "import importlib, sys\nname = sys.argv[1]\nimportlib.import_module(name)\n"
    for name in names:
        done = subprocess.run(
            [sys.executable, "-c", code, name],
            capture_output=True,
            text=True,
            cwd=ROOT.parent.parent,
            timeout=60,
        )
        assert done.returncode == 0, f"import {name} alone failed:\n{done.stderr}"
