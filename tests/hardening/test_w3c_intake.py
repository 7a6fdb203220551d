"""Strict intake against the W3C RDF 1.1 Turtle and N-Triples test suites, read in place.

Every negative-syntax (and negative-eval) document must be refused by the case intake with
a ``not valid …`` CaseInputError; every positive document must pass the intake's parsing
step (:func:`parse_rdf`), and Turtle evaluation tests must give the expected graph.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from guidegraph.errors import CaseInputError
from guidegraph.intake.cases import parse_rdf
from guidegraph.reasoning.reasoner import Reasoner

from .conftest import w3c_required, w3c_root

RDFT = "http://www.w3.org/ns/rdftest#"
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
#: The suites' published base; manifests and tests resolve against it, and it maps to the
#: local folder (as rdflib's W3C test runner maps its remote base to its checkout).
REMOTE_BASE = "https://w3c.github.io/rdf-tests/rdf/rdf11/"
SUITES = ("rdf-turtle", "rdf-n-triples")
NEGATIVE = {"TestTurtleNegativeSyntax", "TestNTriplesNegativeSyntax", "TestTurtleNegativeEval"}
POSITIVE = {"TestTurtlePositiveSyntax", "TestNTriplesPositiveSyntax", "TestTurtleEval"}


@dataclass(frozen=True)
class W3cTest:
    name: str
    kind: str
    action: Path
    action_iri: str
    result: Path | None

    @property
    def format(self) -> ox.RdfFormat:
        return ox.RdfFormat.N_TRIPLES if self.action.suffix == ".nt" else ox.RdfFormat.TURTLE


def _local(iri: str, folder: Path, remote: str) -> Path:
    if not iri.startswith(remote):
        raise ValueError(f"{iri} is outside the suite base {remote}")
    return folder / iri[len(remote):]


def load_tests() -> list[W3cTest]:
    root = w3c_root() / "rdf11"
    tests: list[W3cTest] = []
    for suite in SUITES:
        folder = root / suite
        manifest = folder / "manifest.ttl"
        if not manifest.is_file():
            continue
        remote = f"{REMOTE_BASE}{suite}/"
        store = ox.Store()
        store.load(manifest.read_bytes(), format=ox.RdfFormat.TURTLE,
                   base_iri=remote + "manifest.ttl")
        rows = store.query(f"""
            SELECT ?test ?type ?action ?result WHERE {{
              ?m <{MF}entries>/<http://www.w3.org/1999/02/22-rdf-syntax-ns#rest>*/
                 <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> ?test .
              ?test a ?type ; <{MF}action> ?action .
              OPTIONAL {{ ?test <{MF}result> ?result }} }}""")
        for row in rows:
            kind = row["type"].value.removeprefix(RDFT)
            result = row["result"]
            tests.append(W3cTest(
                name=f"{suite}/{row['test'].value.rsplit('#', 1)[-1]}", kind=kind,
                action=_local(row["action"].value, folder, remote),
                action_iri=row["action"].value,
                result=_local(result.value, folder, remote) if result is not None else None))
    return sorted(tests, key=lambda t: t.name)


TESTS = load_tests()
MISSING = (f"W3C RDF 1.1 test suites not found under {w3c_root() / 'rdf11'}"
           " (set GUIDEGRAPH_W3C_DIR to the folder holding rdf11/)")
needs_suite = pytest.mark.skipif(not TESTS and not w3c_required(), reason=MISSING)


@needs_suite
def test_suite_is_complete() -> None:
    """Guard against a manifest mapping that silently finds nothing."""
    assert TESTS, f"{MISSING}; GUIDEGRAPH_REQUIRE_W3C=1 requires them"
    kinds = Counter(t.kind for t in TESTS)
    assert kinds["TestTurtleNegativeSyntax"] > 50
    assert kinds["TestNTriplesNegativeSyntax"] > 20
    assert kinds["TestTurtlePositiveSyntax"] > 50
    assert kinds["TestNTriplesPositiveSyntax"] > 20
    assert kinds["TestTurtleEval"] > 100
    assert set(kinds) <= NEGATIVE | POSITIVE
    assert all(t.action.is_file() for t in TESTS)


@needs_suite
def test_no_invalid_document_is_accepted(hard_reasoner: Reasoner) -> None:
    intake = hard_reasoner.intake
    accepted, syntax, other = [], Counter(), Counter()
    for test in (t for t in TESTS if t.kind in NEGATIVE):
        try:
            intake.from_rdf(test.action.read_bytes(), test.format, source=test.name)
        except CaseInputError as exc:
            assert exc.message, test.name
            if exc.message.startswith(f"not valid {test.format.name}"):
                syntax[test.kind] += 1
            elif test.kind == "TestTurtleNegativeEval":
                other[test.kind] += 1  # parsed, but refused as a case for another reason
            else:
                accepted.append(f"{test.name}: refused only as a case: {exc.message}")
        else:
            accepted.append(test.name)
    print(f"\nW3C negative: refused as syntax errors {dict(syntax)}; refused otherwise "
          f"{dict(other)}")
    assert accepted == []


@needs_suite
def test_every_valid_document_parses() -> None:
    failed = []
    passed: Counter[str] = Counter()
    for test in (t for t in TESTS if t.kind in POSITIVE):
        try:
            parse_rdf(test.action.read_bytes(), test.format, test.action_iri)
        except CaseInputError as exc:
            failed.append(f"{test.name}: {exc}")
        else:
            passed[test.kind] += 1
    print(f"\nW3C positive: parsed {dict(passed)}")
    assert failed == []


def _graph(quads: list[ox.Quad]) -> Graph:
    text = ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES)
    # rdflib 7.6's N-Triples parser rejects some valid non-ASCII IRIs; its Turtle parser
    # reads N-Triples (a subset) correctly.
    return Graph().parse(data=text.decode("utf-8"), format="turtle")


@needs_suite
def test_evaluation_tests_give_the_expected_graph() -> None:
    wrong = []
    evals = [t for t in TESTS if t.kind == "TestTurtleEval" and t.result is not None]
    for test in evals:
        got = _graph(parse_rdf(test.action.read_bytes(), test.format, test.action_iri))
        expected = _graph(parse_rdf(test.result.read_bytes(), ox.RdfFormat.N_TRIPLES))
        if not isomorphic(got, expected):
            wrong.append(test.name)
    assert evals and wrong == []
