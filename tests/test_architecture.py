"""The layers of src/guidegraph: imports (lazy and type-only ones included) point downwards
only, and no module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

SRC = Path(__file__).parents[1] / "src"

#: Bottom to top: a module may import from its own layer and the layers below it.
LAYERS: list[tuple[str, ...]] = [
    ("guidegraph", "errors", "vocab", "resources", "rdf_formats", "clock", "lexical", "gcpause"),
    ("knowledge",),
    ("store",),
    ("intake",),
    ("reasoning",),
    ("provenance",),
    ("audit",),
    ("authoring",),
    ("serve",),
    ("cli", "api", "__main__", "progress"),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _modules(src: Path = SRC) -> dict[str, Path]:
    out = {}
    for path in (src / "guidegraph").rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(src: Path = SRC) -> nx.DiGraph:
    """Every import between guidegraph modules, wherever it is written in the module."""
    modules = _modules(src)
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                    + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                if target.split(".")[0] == "guidegraph" and target != name:
                    graph.add_edge(name, target)
    return graph


def layer(module: str) -> int:
    parts = module.split(".")
    return RANK[parts[1] if len(parts) > 1 else parts[0]]


def test_every_module_has_a_layer() -> None:
    assert [m for m in _modules() if m != "guidegraph" and m.split(".")[1] not in RANK] == []


def test_no_import_circle() -> None:
    assert list(nx.simple_cycles(import_graph())) == []


def test_imports_point_down_the_layers() -> None:
    upward = sorted(f"{a} -> {b}" for a, b in import_graph().edges if layer(b) > layer(a))
    assert upward == []


@pytest.mark.parametrize("source, planted", [
    ("guidegraph/store/base.py", "from guidegraph.reasoning.reasoner import Reasoner"),
    ("guidegraph/knowledge/loading.py", "def f():\n    from guidegraph.cli import main\n"),
    ("guidegraph/reasoning/plan.py", "from . import reasoner"),
])
def test_the_check_sees_an_upward_import(tmp_path: Path, source: str, planted: str) -> None:
    """The checks above can fail: an import planted in a copy, lazy, relative or not, is
    seen running up the layers or closing a circle."""
    import shutil

    shutil.copytree(SRC / "guidegraph", tmp_path / "guidegraph",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / source
    target.write_text(target.read_text(encoding="utf-8") + "\n" + planted + "\n",
                      encoding="utf-8")
    graph = import_graph(tmp_path)
    upward = [(a, b) for a, b in graph.edges if layer(b) > layer(a)]
    assert upward or list(nx.simple_cycles(graph))


def _repeated_blocks(src: Path, size: int = 6) -> list[list[tuple[str, int]]]:
    """Places where the same ``size`` lines of code stand more than once (blank lines,
    comments and lines of punctuation alone left out, indentation ignored)."""
    seen: dict[tuple[str, ...], list[tuple[str, int]]] = {}
    for path in sorted((src / "guidegraph").rglob("*.py")):
        code = [(n, line.strip()) for n, line in
                enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if len(line.strip()) > 3 and not line.strip().startswith("#")
                and any(ch.isalnum() for ch in line)]
        for i in range(len(code) - size + 1):
            block = tuple(text for _, text in code[i:i + size])
            seen.setdefault(block, []).append((str(path.relative_to(src)), code[i][0]))
    return [places for places in seen.values() if len(places) > 1]


def test_no_block_of_six_lines_is_written_twice() -> None:
    assert _repeated_blocks(SRC) == []


def test_the_repetition_check_sees_a_copied_block(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(SRC / "guidegraph", tmp_path / "guidegraph",
                    ignore=shutil.ignore_patterns("__pycache__"))
    source = (tmp_path / "guidegraph" / "store" / "sparql.py").read_text(encoding="utf-8")
    body = source.split("\ndef ", 2)[1]  # the first function
    (tmp_path / "guidegraph" / "copy.py").write_text("def " + body, encoding="utf-8")
    assert _repeated_blocks(tmp_path)
