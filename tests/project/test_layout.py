"""The package's shape, read from its source: imports at module and function level.

The layers stay apart only while nobody checks; these tests read every module of
`bot/` with `ast` (no import runs) so a cycle, a reach into another module's
`_private` name, a core layer importing an edge, or a module dropped loose at the
top of `bot/` fails here instead of in a reviewer's head.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"

#: Modules that may sit at the top of `bot/`: the package and its `python -m bot`, and what
#: several layers read: settings, value types, messages' words, the answers to `/papers`
#: (the Slack app, the preview and the personal layer share `Lookup`), progress lines
#: (the search index build, the publisher and the CLI report through them).
TOP_LEVEL = {"__init__", "__main__", "config", "model", "i18n", "lookup", "progress"}
#: The core: it knows nothing of Slack, the scheduler, the CLI or the runtime.
CORE = ("bot.archive", "bot.store", "bot.search", "bot.render")
EDGES = ("bot.slack", "bot.runtime", "bot.cli", "bot.runtime.scheduler")


@dataclass(frozen=True)
class Import:
    """One import statement's target as the importing module sees it."""

    source: str  # the importing module
    target: str  # the module imported (absolute)
    names: tuple[str, ...]  # names taken from it (`from x import a, b`), empty for `import x`
    line: int


def module_name(path: Path) -> str:
    """`bot/store/sync.py` → `bot.store.sync`; a package's `__init__.py` → the package."""
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (migration scripts included)."""
    return {module_name(path): path for path in sorted(BOT.rglob("*.py"))}


def resolve(source: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name a relative import (`from ..x import y`) means in `source`."""
    if level == 0:
        return module or ""
    base = source.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(name: str, path: Path) -> Iterator[Import]:
    """Every import in the file, wherever it stands (module level, functions, branches)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, is_package, node.level, node.module)
            yield Import(name, target, tuple(alias.name for alias in node.names), node.lineno)


def bot_edges(known: dict[str, Path]) -> list[Import]:
    """Imports of bot modules by bot modules; `from pkg import mod` counts as importing `pkg.mod`."""
    found: list[Import] = []
    for name, path in known.items():
        for imp in imports_of(name, path):
            if imp.target != "bot" and not imp.target.startswith("bot."):
                continue
            found.append(imp)
            for taken in imp.names:
                if f"{imp.target}.{taken}" in known:
                    found.append(Import(name, f"{imp.target}.{taken}", (), imp.line))
    return found


def owning_module(target: str, known: dict[str, Path]) -> str | None:
    """The longest known module name `target` is, or lies inside of."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def graph(known: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the bot modules it imports (a package's `__init__` counts as the package)."""
    edges: dict[str, set[str]] = {name: set() for name in known}
    for imp in bot_edges(known):
        target = owning_module(imp.target, known)
        if target is not None and target != imp.source:
            edges[imp.source].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def package_init_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without a package's edges to its own submodules (re-exports are not cycles).

    `bot/store/__init__.py` re-exporting `bot.store.database` while `database` imports
    `bot.store.locks` is Python's normal package shape, not a cycle between two jobs.
    """
    return {
        name: {target for target in targets if not target.startswith(name + ".")}
        for name, targets in edges.items()
    }


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether module `name` is one of `prefixes` or lies inside one."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


# The checks themselves -------------------------------------------------------------------


def test_the_reader_finds_the_package() -> None:
    known = modules()
    assert "bot.config" in known and "bot.store.database" in known
    # Function-level imports are read too: the reader sees the whole file.
    assert resolve("bot.store.sync", False, 1, "locks") == "bot.store.locks"
    assert resolve("bot.store", True, 1, "locks") == "bot.store.locks"
    assert resolve("bot.store.sync", False, 2, "model") == "bot.model"


def test_cycle_finder_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_bot_modules() -> None:
    found = cycles(package_init_edges(graph(modules())))
    assert found == [], f"import cycles (module or function level): {found}"


def private_imports(known: dict[str, Path]) -> list[str]:
    """`from other import _name`, other being another bot module (not a submodule of the importer)."""
    found = []
    for imp in bot_edges(known):
        if imp.target == imp.source:
            continue
        for taken in imp.names:
            if taken.startswith("_") and not taken.startswith("__"):
                found.append(f"{imp.source}:{imp.line} imports {imp.target}.{taken}")
    return found


def test_no_private_name_imported_across_modules() -> None:
    assert private_imports(modules()) == []


def test_the_core_imports_no_edge() -> None:
    known = modules()
    edges = graph(known)
    found = sorted(
        f"{source} imports {target}"
        for source, targets in edges.items()
        if within(source, CORE)
        for target in targets
        if within(target, EDGES)
    )
    # Third-party Slack and scheduler packages count as edges too.
    for name, path in known.items():
        if not within(name, CORE):
            continue
        for imp in imports_of(name, path):
            if within(imp.target, ("slack_bolt", "slack_sdk", "apscheduler", "typer", "click")):
                found.append(f"{name}:{imp.line} imports {imp.target}")
    assert found == []


def test_config_and_plan_do_not_import_the_scheduler() -> None:
    edges = graph(modules())
    for name in ("bot.config", "bot.publisher.plan"):
        assert not any(within(target, ("bot.runtime.scheduler", "apscheduler")) for target in edges[name])


def test_nothing_loose_at_the_top_of_bot() -> None:
    loose = {path.stem for path in BOT.glob("*.py")}
    assert loose - TOP_LEVEL == set()
