"""The direction of imports DESIGN.md draws, read from the source: no circles (lazy imports count),
no layer reaching where it must not, no private module of a dependency outside the two guarded
places."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("agents", "graphs", "mcp_servers", "rag", "local_models")
NEVER = {
    "graphs": {"agents", "mcp_servers", "local_models", "rag"},
    "rag": {"agents", "graphs", "mcp_servers", "local_models"},
    "local_models": {"agents", "graphs", "mcp_servers", "rag"},
    "mcp_servers": {"local_models"},
}
"""What each layer may never import (``mcploom.paths`` and ``mcploom.graphs.types``-style leaf
modules of other layers are named in :data:`ALLOWED`)."""
ALLOWED = {("mcp_servers", "graphs.types"), ("mcp_servers", "agents")}
"""The agent server runs an ``Agent``; it names the patterns by their one declaration."""
GUARDED_PRIVATE = {"graphs/_nodes.py": "._internal", "mcp_servers/_stdio.py": "._lowlevel_server"}
"""Where a dependency's private module or attribute is used, each guarded by a test that fails with
a clear message when it moves (tests/graphs/test_nodes.py, tests/mcp_servers/test_stdio_runner.py)."""


def _modules() -> dict[str, Path]:
    found = {"mcploom.paths": REPO / "mcploom" / "paths.py"}
    for layer in LAYERS:
        for path in (REPO / layer).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(("mcploom", *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules ``path`` imports, lazily inside functions too (two modules that need each other
    are one job split in two, whenever the import runs), but not under ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    imported: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mcploom"):
            # `from package import submodule` imports the submodule; the package is its parent
            names = {f"{node.module}.{alias.name}" for alias in node.names}
            imported.update({name for name in names if name in modules} or {node.module})
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.startswith("mcploom"))
    return imported


def test_no_import_circles() -> None:
    modules = _modules()
    # A module's own parent packages are already being imported when it runs: not an edge.
    graph = {
        name: {m for m in _imports(path, modules) if m in modules and not f"{name}.".startswith(f"{m}.")}
        for name, path in modules.items()
    }
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            raise AssertionError(f"import circle: {' -> '.join(stack[stack.index(name) :] + [name])}")
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*stack, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_layers_import_only_in_the_allowed_direction() -> None:
    crossings = []
    for name, path in _modules().items():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in NEVER:
            continue
        layer = parts[1]
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):  # any import, lazy ones too
            targets = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            targets += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for target in targets:
                if not target.startswith("mcploom."):
                    continue
                into = target.split(".")[1]
                rest = ".".join(target.split(".")[1:3])
                if into in NEVER[layer] and (layer, into) not in ALLOWED and (layer, rest) not in ALLOWED:
                    crossings.append(f"{path.relative_to(REPO)} imports {target}")
    assert not crossings, crossings


def test_private_modules_of_dependencies_only_where_a_test_guards_them() -> None:
    found = []
    for path in (p for layer in LAYERS for p in (REPO / layer).rglob("*.py")):
        text = path.read_text()
        relative = path.relative_to(REPO).as_posix()
        for marker in ("._internal", "._context_streams", "._lowlevel_server"):
            if marker in text and GUARDED_PRIVATE.get(relative) != marker:
                found.append(f"{relative}: {marker}")
    assert not found, found
