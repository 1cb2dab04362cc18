"""The house's shape: muser_core's imports flow one way, and each named choice is written once.

These tests read the source with :mod:`ast`; nothing is imported, so a
circle or an upward import fails here with the modules named, before any
import error could hide it.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "muser_core"

# The floors of muser_core, bottom up: a module may import its own floor's and lower floors' modules only.
FLOORS = [
    {"base"},
    {"audio", "data", "strategies"},
    {"features", "sources"},
    {"config", "indicators", "model", "study"},
    {"privacy", "train"},
    {"predict", "sweep"},
]
# The public face, the ``muser`` command line and ``muser app``'s launcher sit above everything.
ENTRY = {"__init__", "__main__", "cli", "serve"}


def _modules(root: Path, prefix: str) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name.startswith(prefix):
            out[name] = path
    return out


MODULES = _modules(PACKAGE, "muser_core")


def _imported(name: str, path: Path, node: ast.AST, modules: dict[str, Path]) -> list[str]:
    """The project modules one import statement names (``from a import b`` may name module ``a.b``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        module = ".".join([*package, node.module] if node.module else package)
    else:
        module = node.module or ""
    # ``from a import b`` names module ``a.b`` when b is one, else a name in ``a``.
    return [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names]


def import_graph(modules: dict[str, Path] = MODULES) -> tuple[dict[str, set[str]], list[str]]:
    """Module -> the project modules it imports; and the imports written inside functions."""
    edges: dict[str, set[str]] = defaultdict(set)
    hidden = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for n in ast.walk(f)}
        for node in ast.walk(tree):
            targets = {t for t in _imported(name, path, node, modules) if t in modules and t != name}
            if targets and id(node) in in_function:
                where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
                hidden.append(f"{where}:{node.lineno} imports {', '.join(sorted(targets))}")
            edges[name] |= targets
    return edges, hidden


def room(module: str) -> str:
    """The package (or top-level module) of muser_core a module belongs to: ``muser_core.train.loop`` -> ``train``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor(module: str) -> int:
    r = room(module)
    if r in ENTRY:
        return len(FLOORS)
    return next(i for i, rooms in enumerate(FLOORS) if r in rooms)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan), each sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_contributing_lists_the_floors_as_the_test_holds_them():
    """CONTRIBUTING.md's table is the readers' copy of FLOORS: the same packages on the same floors."""
    rows = re.findall(r"^\| (\d+) \| (.+?) \|", (REPO / "CONTRIBUTING.md").read_text(), re.M)
    written = defaultdict(set)
    for floor_number, cell in rows:
        written[int(floor_number) - 1] |= {name.strip("`/").removesuffix(".py") for name in re.findall(r"`[^`]+`", cell)}
    assert [written[i] for i in range(len(FLOORS))] == FLOORS and len(written) == len(FLOORS)


def test_every_muser_core_module_has_a_floor():
    unplaced = sorted(m for m in MODULES if room(m) not in ENTRY and not any(room(m) in f for f in FLOORS))
    assert unplaced == []


def test_no_import_circles_between_modules_or_packages():
    edges, _ = import_graph()
    assert cycles(edges) == []
    rooms = defaultdict(set)
    for a, targets in edges.items():
        rooms[room(a)] |= {room(b) for b in targets if room(b) != room(a)}
    assert cycles(rooms) == []


def test_no_upward_imports():
    edges, _ = import_graph()
    upward = sorted(f"{a} -> {b}" for a, targets in edges.items() for b in targets if floor(b) > floor(a))
    assert upward == []


def test_packages_import_only_from_floors_below_so_the_ladder_is_as_deep_as_its_floors():
    """Two packages on one floor never import each other: the longest chain of imports has len(FLOORS) steps."""
    edges, _ = import_graph()
    level = sorted(f"{a} -> {b}" for a, targets in edges.items() for b in targets
                   if room(a) != room(b) and room(a) not in ENTRY and floor(a) == floor(b))
    assert level == []
    rooms = defaultdict(set)
    for a, targets in edges.items():
        if room(a) not in ENTRY:
            rooms[room(a)] |= {room(b) for b in targets if room(b) != room(a)}
    assert longest_chain(rooms) == len(FLOORS) <= 6


def longest_chain(rooms: dict[str, set[str]]) -> int:
    """Packages in the longest chain of imports between packages (a package that imports none: 1)."""
    depth: dict[str, int] = {}

    def visit(r: str) -> int:
        if r not in depth:
            depth[r] = 1 + max((visit(b) for b in rooms.get(r, ())), default=0)
        return depth[r]

    return max(map(visit, rooms), default=0)


def test_no_project_imports_hidden_in_functions():
    _, hidden = import_graph()
    assert hidden == []


def test_the_checks_can_fail():
    """The walker sees a circle, an upward import and a hidden import in code written to have them."""
    edges = {"muser_core.a": {"muser_core.b"}, "muser_core.b": {"muser_core.a"}, "muser_core.c": set()}
    assert cycles(edges) == [["muser_core.a", "muser_core.b"]]
    assert floor("muser_core.base.errors") < floor("muser_core.train.loop")
    assert longest_chain({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"c"}}) == 3


def test_a_hidden_and_an_upward_import_are_found(tmp_path):
    pkg = tmp_path / "muser_core"
    (pkg / "base").mkdir(parents=True)
    (pkg / "train").mkdir()
    for p in (pkg, pkg / "base", pkg / "train"):
        (p / "__init__.py").write_text("")
    (pkg / "base" / "errors.py").write_text("from muser_core.train import loop\n")
    (pkg / "train" / "loop.py").write_text("def f():\n    from muser_core.base import errors\n")
    edges, hidden = import_graph(_modules(pkg, "muser_core"))
    assert "muser_core.train.loop" in edges["muser_core.base.errors"]
    assert [h.split(" imports ")[1] for h in hidden] == ["muser_core.base.errors"]


# --------------------------------------------------------------------------- the app above the library

# Bottom up: pages/ -> ui/ -> analysis/ -> muser_core/ (app.py, the navigation, sits on top).
APP_LAYERS = ["muser_core", "analysis", "ui", "pages", "app"]


def app_imports(files: list[Path], root: Path = REPO) -> tuple[list[str], list[str]]:
    """Imports against the flow (a lower layer importing a higher one), and project imports inside functions."""
    upward, hidden = [], []
    for path in files:
        rel = path.relative_to(root)
        layer = APP_LAYERS.index(rel.parts[0] if len(rel.parts) > 1 else rel.stem)
        tree = ast.parse(path.read_text(), str(path))
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level:
                targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                top = target.split(".")[0]
                if top not in APP_LAYERS:
                    continue
                if APP_LAYERS.index(top) > layer:
                    upward.append(f"{rel}:{node.lineno} imports {target}")
                if id(node) in in_function:
                    hidden.append(f"{rel}:{node.lineno} imports {target}")
    return upward, hidden


APP_FILES = [p for d in ("analysis", "ui", "pages") for p in sorted((REPO / d).rglob("*.py"))] + [REPO / "app.py"]


def test_the_app_imports_flow_from_pages_to_the_library_at_the_top_of_each_file():
    upward, hidden = app_imports(APP_FILES)
    assert upward == []
    assert hidden == []


def test_every_page_reaches_the_library_through_ui():
    """Pages draw with ui/ (and read the paper's tables from analysis/); none imports muser_core itself."""
    direct = []
    for path in sorted((REPO / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            direct += [f"{path.name}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == "muser_core"]
    assert direct == []


def test_the_app_check_can_fail(tmp_path):
    (tmp_path / "analysis").mkdir()
    bad = tmp_path / "analysis" / "views.py"
    bad.write_text("from ui import common\n\ndef f():\n    from muser_core.base import errors\n")
    upward, hidden = app_imports([bad], tmp_path)
    assert [u.split(" imports ")[1] for u in upward] == ["ui"]
    assert [h.split(" imports ")[1] for h in hidden] == ["muser_core.base"]


# --------------------------------------------------------------------------- named choices, written once

SCANNED = ["muser_core", "analysis", "ui", "pages", "app.py"]


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def _files() -> list[Path]:
    out = []
    for entry in SCANNED:
        path = REPO / entry
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def _written(names: set[str], allowed) -> list[str]:
    found = []
    for path in _files():
        rel = path.relative_to(REPO)
        for line, value in _string_literals(path):
            if value in names and not allowed(rel, value):
                found.append(f"{rel}:{line} {value!r}")
    return found


def test_strategy_names_are_written_only_in_their_registry():
    from muser_core.strategies import STRATEGIES

    registry = Path("muser_core/strategies/registry.py")
    assert _written(set(STRATEGIES), lambda rel, _: rel == registry) == []


def test_source_names_are_written_only_in_their_registry():
    """A source's name is written in ``muser_core/sources.py``, and in its own loader file under data/."""
    from muser_core.cli import COMMANDS
    from muser_core.sources import SOURCES

    def allowed(rel: Path, name: str) -> bool:  # the command line's `muser study ...` names a command group
        return (rel == Path("muser_core/sources.py") or rel == Path(f"muser_core/data/{name}.py")
                or (rel == Path("muser_core/cli.py") and name in COMMANDS))

    assert _written(set(SOURCES), allowed) == []


@pytest.mark.parametrize("names", [{"whisper", "pocketsphinx"}, {"local", "ray"}])
def test_recogniser_and_executor_names_are_written_once(names):
    """Recognisers live in muser_core/audio/transcribe.py, executors in muser_core/sweep/executors.py."""
    homes = {Path("muser_core/audio/transcribe.py"), Path("muser_core/sweep/executors.py")}
    assert _written(names, lambda rel, _: rel in homes) == []


def cached_without_bound(files: list[Path]) -> list[str]:
    """Functions under ``st.cache_data``/``st.cache_resource`` that take arguments but set no ``max_entries``:
    a server up for days would keep one entry per argument ever given."""
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef) or not node.args.args:
                continue
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(target, ast.Attribute) and target.attr in ("cache_data", "cache_resource"):
                    keywords = {k.arg for k in deco.keywords} if isinstance(deco, ast.Call) else set()
                    if "max_entries" not in keywords:
                        found.append(f"{path.name}:{node.lineno} {node.name}")
    return found


def test_every_cache_of_the_app_is_bounded(tmp_path):
    assert cached_without_bound(APP_FILES) == []
    unbounded = tmp_path / "page.py"
    unbounded.write_text("import streamlit as st\n\n@st.cache_resource\ndef model(path):\n    return path\n")
    assert cached_without_bound([unbounded]) == ["page.py:4 model"]
