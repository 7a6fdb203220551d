"""Each authoring check, triggered by its own minimal fixture, and nothing else.

Every fixture under fixtures/ is a self-contained guideline snippet that is clean
except for one mistake; fixtures/manifest.ttl lists its expected results (severity,
source, focus) exactly, so a shape that fires too often or not at all fails here. Each
result's message must also name the fix (a phrase per expected result).
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
import rdflib
from rdflib import RDF, SH
from rdflib.collection import Collection

from guidegraph.authoring.report import ValidationReport
from guidegraph.authoring.validate import validate

FIXTURES = Path(__file__).parent / "fixtures"
V = "Violation"

MANIFEST = FIXTURES / "manifest.ttl"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = rdflib.Namespace("http://www.w3.org/ns/shacl-test#")
GGT = rdflib.Namespace("https://w3id.org/guidegraph/test#")


def load_expected(
    manifest: Path,
) -> tuple[dict[str, list[tuple[str, str, str, str]]], dict[str, bool]]:
    """fixture -> [(severity, source shape or constraint, focus, phrase the message must
    contain)], and fixture -> sh:conforms, read from the fixture family's test manifest
    (W3C SHACL test-suite style).

    Sources and focus nodes are written as prefixed names, as the report prints them."""
    graph = rdflib.Graph().parse(manifest, format="turtle")
    nm = graph.namespace_manager
    top = graph.value(predicate=RDF.type, object=MF.Manifest)
    expected: dict[str, list[tuple[str, str, str, str]]] = {}
    conforms: dict[str, bool] = {}
    for entry in Collection(graph, graph.value(top, MF.entries)):
        data = graph.value(graph.value(entry, MF.action), SHT.dataGraph)
        name = Path(url2pathname(urlparse(str(data)).path)).stem
        report = graph.value(entry, MF.result)
        rows = [(str(graph.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
                 nm.normalizeUri(graph.value(r, SH.sourceShape)),
                 nm.normalizeUri(graph.value(r, SH.focusNode)),
                 str(graph.value(r, GGT.messagePhrase)))
                for r in graph.objects(report, SH.result)]
        expected[name] = rows
        conforms[name] = graph.value(report, SH.conforms).toPython()
    return expected, conforms


EXPECTED, CONFORMS = load_expected(MANIFEST)


@functools.cache
def _run(name: str) -> ValidationReport:
    """One validation run per fixture, shared by the tests that read its report."""
    return validate([FIXTURES / f"{name}.ttl"], hermit=False)


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.stem for p in FIXTURES.glob("*.ttl") if p != MANIFEST}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_triggers_exactly_the_intended_results(name: str) -> None:
    report = _run(name)
    got = {(r.severity, r.source, r.focus) for r in report.results}
    want = {(sev, src, focus) for sev, src, focus, _ in EXPECTED[name]}
    assert got == want, report.to_text()
    assert len(report.results) == len(EXPECTED[name]), report.to_text()
    for sev, src, focus, phrase in EXPECTED[name]:
        key = (sev, src, focus)
        messages = [r.message for r in report.results if (r.severity, r.source, r.focus) == key]
        assert any(phrase in m for m in messages), (phrase, messages)
    assert report.conforms == all(sev != V for sev, *_ in EXPECTED[name])
    assert report.conforms == CONFORMS[name]


def test_results_name_their_file_and_label() -> None:
    report = _run("rec-no-citation")
    (result,) = report.results
    assert result.file is not None and result.file.endswith("rec-no-citation.ttl")
    assert result.label == "rec-1"
    assert "rec-1" in result.message


def test_authoring_shapes_cover_every_sparql_constraint() -> None:
    """Every SPARQL constraint and property shape in authoring.ttl has a fixture in the manifest.

    An unnamed (blank-node) property shape is reported as the named shape holding it, so it
    counts as covered by a fixture of that shape.
    """
    shapes = rdflib.Graph().parse(Path(__file__).parents[2] / "shapes" / "authoring.ttl")
    nm = shapes.namespace_manager
    declared = {nm.normalizeUri(c) for c in shapes.objects(None, SH.sparql)}
    for holder, prop in shapes.subject_objects(SH.property):
        named = prop if isinstance(prop, rdflib.URIRef) else holder
        declared.add(nm.normalizeUri(named))
    covered = {src for rows in EXPECTED.values() for _, src, _, _ in rows}
    assert declared - covered == set()
