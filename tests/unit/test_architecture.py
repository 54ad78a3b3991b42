"""The import rules of ``docs/architecture.md``, read from the source: every ``autograder/**/*.py`` is
parsed (``ast``), never imported, so a rule broken inside a function that no test calls is found too.

What counts as an import: every ``import``/``from … import`` statement, at module level or inside a
function or class. Imports under ``if TYPE_CHECKING:`` never run: they count for the layers (a type
that names a downstream module is still a dependency on it) but not for cycles or for what the
sandboxed child may import. ``importlib.import_module`` with a computed name is not read: the one such
call, ``engine.runner.grader_module``, is the designed seam by which the engine loads an assignment's
grader file by name without importing the graders.

A rule the code breaks today is listed once in ``KNOWN`` with its reason: the rule's test ignores
exactly that import, and ``test_known_violation_is_still_there`` (strict xfail) fails as soon as it is
gone, so that the entry is removed and the rule is whole again.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from autograder.engine.isolation import CHILD_FILES
from autograder.paths import PACKAGE

ROOT = "autograder"

# Downstream of the engine: the engine imports none of these (docs/architecture.md, "Who may import whom").
NOT_FOR_ENGINE = ("autograder.graders", "autograder.grade", "autograder.gradescope", "autograder.otter_plugin",
                  "autograder.api", "autograder.reports", "autograder.manual", "autograder.samples",
                  "autograder.assign", "autograder.__main__")
# The base modules every layer may use; they import nothing of the kit.
BASE = ("autograder.paths", "autograder.i18n", "autograder.outdir")
# Besides the standard library and the child-side files, what the sandboxed child may import.
CHILD_THIRD_PARTY = ("torch", "numpy")
# A named exception, not a silent one: the child imports pyplot before it reports ready when the
# submission's cells will (child.warm, child.WARMERS), so that their import costs nothing on the
# student's clock; it is the student's library, imported for the student's cells, and guarded (no
# matplotlib in the venv: the student's own import will say so).
CHILD_WARMED = {("autograder.engine.child", "matplotlib")}

# (rule, importer, imported) -> why the code breaks the rule today. Each is xfail(strict) below.
# Empty: the code keeps every rule (a new entry needs a reason a reviewer accepts).
KNOWN: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to an absolute name."""

    importer: str  # the importing module, e.g. "autograder.engine.child"
    target: str  # a kit module ("autograder.engine.codec"), or the imported name ("torch.nn")
    line: int
    runtime: bool  # False under ``if TYPE_CHECKING:``: never executed


def module_name(rel: Path) -> str:
    """``engine/child.py`` -> ``autograder.engine.child``; a package's ``__init__.py`` is the package."""
    parts = [ROOT, *rel.with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """Every import of one module, wherever it sits, resolved against ``known`` (the kit's modules)."""

    def __init__(self, name: str, is_package: bool, known: frozenset[str]) -> None:
        self.name, self.known = name, known
        self.package = name if is_package else name.rpartition(".")[0]
        self.found: list[Import] = []
        self._typing_only = 0

    def _add(self, target: str, node: ast.stmt) -> None:
        self.found.append(Import(self.name, target, node.lineno, runtime=self._typing_only == 0))

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self._typing_only += 1
        for stmt in node.body:
            self.visit(stmt)
        self._typing_only -= 1
        for stmt in node.orelse:  # the else branch of ``if TYPE_CHECKING`` is what runs
            self.visit(stmt)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            up = self.package.split(".")
            base = ".".join(up[:len(up) - (node.level - 1)] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:  # ``from . import codec`` imports a module; ``from .codec import X`` a name
            sub = f"{base}.{alias.name}"
            self._add(sub if sub in self.known else base, node)


def imports_of(source: str, name: str, is_package: bool, known: frozenset[str]) -> list[Import]:
    """The imports of one module's ``source``, named ``name`` among the kit's ``known`` modules."""
    visitor = _Imports(name, is_package, known)
    visitor.visit(ast.parse(source))
    return visitor.found


@lru_cache(maxsize=1)
def kit() -> tuple[dict[str, Path], tuple[Import, ...]]:
    """Every module of the package (name -> file) and every import they make."""
    files = {module_name(p.relative_to(PACKAGE)): p for p in sorted(PACKAGE.rglob("*.py"))
             if "__pycache__" not in p.parts}
    known = frozenset(files)
    found = [imp for name, path in files.items()
             for imp in imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known)]
    return files, tuple(found)


def within(name: str, prefixes: tuple[str, ...] | set[str] | frozenset[str]) -> bool:
    """``name`` is one of ``prefixes`` or a module inside one of them (``a.b`` is within ``a``, ``a.bc`` is not)."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def kit_edges(runtime_only: bool) -> dict[str, set[str]]:
    """Importer -> the kit modules it imports."""
    files, found = kit()
    graph: dict[str, set[str]] = {name: set() for name in files}
    for imp in found:
        if imp.target in files and imp.target != imp.importer and (imp.runtime or not runtime_only):
            graph[imp.importer].add(imp.target)
    return graph


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    """Whether ``goal`` can be reached from ``start`` along ``graph``'s edges."""
    seen, todo = {start}, [start]
    while todo:
        here = todo.pop()
        if here == goal:
            return True
        for nxt in graph.get(here, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def cycle_edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The edges a -> b that lie on a cycle (b leads back to a)."""
    return {(a, b) for a, targets in graph.items() for b in targets if reaches(graph, b, a)}


def child_modules() -> set[str]:
    """The modules bound into the sandbox (``isolation.CHILD_FILES``), by name."""
    return {module_name(Path(rel)) for rel in CHILD_FILES}


def violations(rule: str) -> set[tuple[str, str]]:
    """(importer, imported) pairs that break ``rule``, known ones included."""
    files, found = kit()
    if rule == "cycle":
        return cycle_edges(kit_edges(runtime_only=True))
    if rule == "engine":
        return {(i.importer, i.target) for i in found
                if within(i.importer, ("autograder.engine",)) and within(i.target, NOT_FOR_ENGINE)}
    if rule == "base":
        return {(i.importer, i.target) for i in found
                if i.importer in BASE and within(i.target, (ROOT,)) and i.target != i.importer}
    if rule == "graders":
        allowed = ("autograder.engine", "autograder.graders", *BASE)
        return {(i.importer, i.target) for i in found
                if within(i.importer, ("autograder.graders",)) and within(i.target, (ROOT,))
                and not within(i.target, allowed)}
    if rule == "child":
        child = child_modules()
        out = set()
        for i in found:
            if i.importer not in child or not i.runtime:
                continue
            top = i.target.split(".")[0]
            if top == ROOT:
                ok = i.target in child
            else:
                ok = top in sys.stdlib_module_names or top in CHILD_THIRD_PARTY or (i.importer, top) in CHILD_WARMED
            if not ok:
                out.add((i.importer, i.target if top == ROOT else top))
        return out
    if rule == "outside":
        return {(i.importer, i.target) for i in found if i.target.split(".")[0] in ("tools", "tests")}
    raise ValueError(rule)


def unknown(rule: str) -> set[tuple[str, str]]:
    """``rule``'s violations that ``KNOWN`` does not list."""
    return violations(rule) - {(a, b) for (r, a, b) in KNOWN if r == rule}


def where(pairs: set[tuple[str, str]]) -> str:
    """One line per violating import, with the file and line of each statement."""
    files, found = kit()
    lines = sorted({f"{files[i.importer].relative_to(PACKAGE.parent)}:{i.line}: {i.importer} imports {i.target}"
                    for i in found for a, b in pairs
                    if i.importer == a and (i.target == b or i.target.split(".")[0] == b)})
    return "\n".join(lines) or repr(sorted(pairs))


# ------------------------------------------------------------------ the reader itself


def test_imports_are_resolved_wherever_they_are() -> None:
    known = frozenset({"autograder", "autograder.engine", "autograder.engine.codec", "autograder.i18n"})
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from . import codec, helper\n"
        "from .codec import Encoder\n"
        "from .. import i18n\n"
        "import torch.nn\n"
        "if TYPE_CHECKING:\n"
        "    from ..api import Submitted\n"
        "else:\n"
        "    import json\n"
        "def f():\n"
        "    from ..i18n import _\n"
    )
    got = {(i.target, i.runtime) for i in imports_of(source, "autograder.engine.snapshot", False, known)}
    assert got == {("__future__", True), ("typing", True), ("autograder.engine.codec", True),
                   ("autograder.engine", True), ("autograder.i18n", True), ("torch.nn", True),
                   ("autograder.api", False), ("json", True)}
    # a package's relative imports start from the package itself
    in_package = {i.target for i in imports_of("from . import codec\n", "autograder.engine", True, known)}
    assert in_package == {"autograder.engine.codec"}


def test_the_whole_package_is_read() -> None:
    files, found = kit()
    assert {"autograder", "autograder.api", "autograder.engine.child", "autograder.graders.test_access",
            "autograder.grade.pool", "autograder.__main__"} <= set(files)
    edges = kit_edges(runtime_only=False)
    assert "autograder.engine.loader" in edges["autograder.api"]  # module level
    assert "autograder.engine.runner" in edges["autograder.grade.worker"]  # inside main()
    assert "autograder.api" in edges["autograder.manual"]  # under TYPE_CHECKING
    assert "autograder.api" not in kit_edges(runtime_only=True)["autograder.manual"]
    assert set(files) >= child_modules(), "CHILD_FILES names a file the package does not have"


def test_every_kit_import_names_a_module_of_the_kit() -> None:
    files, found = kit()
    missing = {(i.importer, i.target) for i in found if within(i.target, (ROOT,)) and i.target not in files}
    assert not missing, where(missing)


# ------------------------------------------------------------------ the rules


def test_no_import_cycles() -> None:
    graph = kit_edges(runtime_only=True)
    for rule, a, b in KNOWN:
        if rule == "cycle":
            graph[a].discard(b)
    cycles = cycle_edges(graph)
    assert not cycles, "these imports close a cycle:\n" + where(cycles)


def test_engine_imports_nothing_downstream() -> None:
    bad = unknown("engine")
    assert not bad, "the engine reaches back:\n" + where(bad)


def test_base_modules_import_nothing_of_the_kit() -> None:
    bad = unknown("base")
    assert not bad, where(bad)


def test_graders_import_only_the_engine_and_the_base() -> None:
    bad = unknown("graders")
    assert not bad, where(bad)


def test_child_side_imports_only_stdlib_torch_and_child_files() -> None:
    bad = unknown("child")
    assert not bad, "not bound into the sandbox, or not the child's to import:\n" + where(bad)


def test_package_imports_neither_tools_nor_tests() -> None:
    bad = unknown("outside")
    assert not bad, "tools/ and tests/ are never installed:\n" + where(bad)


@pytest.mark.parametrize("rule, importer, target", [
    pytest.param(rule, importer, target, id=f"{rule}:{importer}->{target}",
                 marks=pytest.mark.xfail(strict=True, reason=why))
    for (rule, importer, target), why in KNOWN.items()])
def test_known_violation_is_still_there(rule: str, importer: str, target: str) -> None:
    """Fails (xfail) while the import is there; passes, and so fails strictly, once it is fixed: then
    remove its ``KNOWN`` entry."""
    assert (importer, target) not in violations(rule)
