"""Golden cases, discovered per guideline: ``tests/golden/<guideline>/cases/*`` in,
``tests/golden/<guideline>/expected/<case>.expect.json`` out.

An expectation holds the clinically reviewed outcome of that guideline only (whether it
applies, which of its recommendations apply with which direction, which stay undecided for
which missing facts, its verdicts), so adding a guideline changes no other guideline's
expectations. ``<case>.result.json`` / ``.result.ttl`` beside an expectation hold the full
output of a run with that guideline alone loaded; JSON is compared as data and Turtle by graph
isomorphism, timestamps aside. GUIDEGRAPH_REGEN_GOLDEN=1 rewrites expectations and full
outputs from the current run: review every rewritten file (``git diff``) against the source
before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import graph_diff, isomorphic

from guidegraph.knowledge.loading import Knowledge
from guidegraph.provenance import record as provenance
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.resources import guidelines_dir

GOLDEN = Path(__file__).parent
SHIPPED = sorted(p.name for p in guidelines_dir().iterdir() if p.is_dir())
FOLDERS = [GOLDEN / g for g in SHIPPED if (GOLDEN / g / "cases").is_dir()]
CASES = [p for f in FOLDERS for p in sorted((f / "cases").iterdir())]
FULL = [p for p in CASES if (p.parent.parent / "expected" / f"{p.stem}.result.json").exists()]
TIMESTAMPS = ("http://www.w3.org/ns/prov#startedAtTime", "http://www.w3.org/ns/prov#endedAtTime")
REGEN = bool(os.environ.get("GUIDEGRAPH_REGEN_GOLDEN"))


def _case(reasoner: Reasoner, path: Path):
    items = list(reasoner.intake.read(path))
    assert len(items) == 1 and not isinstance(items[0], Exception), items
    return items[0]


def test_every_shipped_guideline_has_golden_cases_and_every_case_an_expectation() -> None:
    assert [f.name for f in FOLDERS] == SHIPPED
    for folder in FOLDERS:
        cases = {p.stem for p in (folder / "cases").iterdir()}
        expected = {p.name.removesuffix(".expect.json")
                    for p in (folder / "expected").glob("*.expect.json")}
        assert cases == expected, folder.name


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_expected_outcome(reasoner: Reasoner, path: Path, scoped) -> None:
    guideline = path.parent.parent.name
    case = _case(reasoner, path)
    file = path.parent.parent / "expected" / f"{case.id}.expect.json"
    actual = {"case": case.id, **scoped(reasoner.reason(case), guideline)}
    if REGEN:
        file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert actual == json.loads(file.read_text())


@pytest.fixture(scope="module")
def alone() -> dict[str, Reasoner]:
    """One reasoner per guideline with that guideline alone loaded (full outputs)."""
    return {}


def _graph(nt: str) -> Graph:
    g = Graph()
    g.parse(data=nt, format="nt")
    for pred in TIMESTAMPS:
        g.remove((None, URIRef(pred), None))
    return g


@pytest.mark.parametrize("path", FULL, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_full_outputs(alone: dict[str, Reasoner], path: Path) -> None:
    guideline = path.parent.parent.name
    if guideline not in alone:
        alone[guideline] = Reasoner(Knowledge.load([guidelines_dir() / guideline]))
    reasoner = alone[guideline]
    result = reasoner.reason(_case(reasoner, path))
    json_file = path.parent.parent / "expected" / f"{path.stem}.result.json"
    ttl_file = path.parent.parent / "expected" / f"{path.stem}.result.ttl"
    nt = provenance.to_ntriples(result, reasoner)
    if REGEN:
        json_file.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
        ttl_file.write_text(provenance.serialize_ntriples(nt, "turtle"))
    assert result.to_json() == json.loads(json_file.read_text())
    expected = Graph().parse(ttl_file, format="turtle")
    for pred in TIMESTAMPS:
        expected.remove((None, URIRef(pred), None))
    actual = _graph(nt)
    if not isomorphic(actual, expected):
        _, only_actual, only_expected = graph_diff(actual, expected)
        pytest.fail(f"provenance differs: +{sorted(only_actual)[:5]} -{sorted(only_expected)[:5]}")
