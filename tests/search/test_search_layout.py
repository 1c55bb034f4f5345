"""The search package's layout (issue 23): modules along its seams, each reading only
its own privates, no import cycle, nothing defined that nothing uses.

These read the source (`ast`), not the running engine: what they guard is how the
next engineer finds their way, which no answer shows.
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from bot.search import concepts
from bot.search.concepts import BAG_SHARE, bag_df_need, bag_matched_need, bag_query_need, most_of

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bot" / "search"
MODULES = sorted(PACKAGE.glob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imports(path: Path) -> set[str]:
    """The bot.search modules a module imports, at module or function level."""
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot.search"):
            for alias in node.names:
                module = f"{node.module}.{alias.name}"
                found.add(module if (PACKAGE / f"{alias.name}.py").exists() and node.module == "bot.search"
                          else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bot.search.")}
    return found


def _name(path: Path) -> str:
    return "bot.search" if path.stem == "__init__" else f"bot.search.{path.stem}"


def test_no_search_module_imports_a_private_name() -> None:
    private = [
        f"{path.name}:{node.lineno} {node.module}.{alias.name}"
        for path in MODULES for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.")
        for alias in node.names if alias.name.startswith("_")
    ]
    assert private == []


def test_no_search_module_reads_another_objects_private_attributes() -> None:
    """`x._name` only on `self` or `cls`: the engine's query pass read the engine's
    `_options`, `_translations`, `_topics`, `_tagger` and `_disk`; it is handed them now."""
    reads = [
        f"{path.name}:{node.lineno} {ast.unparse(node)}"
        for path in MODULES for node in ast.walk(_tree(path))
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert reads == []


def test_the_search_modules_import_one_another_without_a_cycle() -> None:
    graph = {_name(path): _imports(path) - {_name(path)} for path in MODULES}
    graph.pop("bot.search")  # the package re-exports; no module imports it for a name of its own
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, " -> ".join((*trail, module))
        if module in done:
            return
        for other in sorted(graph.get(module, ())):
            visit(other, (*trail, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_the_engine_is_a_facade() -> None:
    """`SearchEngine` wires the lifecycle, the query pass and the lookups; the passes,
    filters, author names and matched fields live in modules of their own."""
    lines = (PACKAGE / "engine.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, lines
    for name in ("passes", "filters", "authors", "matched", "lifecycle", "context"):
        assert (PACKAGE / f"{name}.py").exists(), name


def _defined(tree: ast.Module) -> list[str]:
    """Top-level functions, classes and constants, and classes' private fields."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.append(node.name)
        if isinstance(node, ast.ClassDef):
            names += [s.target.id for s in node.body
                      if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.target.id.startswith("_")]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name) and t.id != "__all__"]
    return names


def test_everything_search_defines_is_used_somewhere() -> None:
    """Dead code referenced nowhere in bot/, tests/ or bench/ (the issue found six such
    names and `BAG_SHARE`, a share the code wrote out as 0.7 instead)."""
    words = Counter(
        word for folder in ("bot", "tests", "bench") for p in (ROOT / folder).rglob("*.py")
        for word in re.findall(r"\w+", p.read_text(encoding="utf-8"))
    )
    unused = [f"{path.name} {name}" for path in MODULES for name in _defined(_tree(path)) if words[name] <= 1]
    assert unused == []


def test_the_bag_rules_share_one_share_and_differ_only_at_the_edges_they_document() -> None:
    for n in range(2, 60):
        assert bag_query_need(n) == bag_df_need(n) == bag_matched_need(n) == most_of(n) == math.ceil(n * BAG_SHARE)
    assert (bag_query_need(1), bag_df_need(1), bag_matched_need(1)) == (2, 1, 1)
    assert (bag_query_need(0), bag_df_need(0), bag_matched_need(0)) == (2, 1, 0)


def test_the_bag_share_is_the_one_every_rule_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(concepts, "BAG_SHARE", 0.5)
    assert (bag_query_need(10), bag_df_need(10), bag_matched_need(10)) == (5, 5, 5)
