"""The shipped ontology and guideline pass authoring QA and the OWL consistency check."""

from __future__ import annotations

import re
import shutil

import pyoxigraph as ox
import pytest

from guidegraph import resources
from guidegraph.authoring.validate import validate
from guidegraph.knowledge.loading import Knowledge


@pytest.fixture(scope="module")
def report():
    return validate(hermit=shutil.which("java") is not None)


def test_no_violations(report) -> None:
    violations = [r for r in report.results if r.severity == "Violation"]
    assert violations == []
    assert report.conforms


def test_warnings_name_the_retracted_and_the_unresolved_references(report) -> None:
    warnings = [r.message for r in report.results if r.severity == "Warning"]
    retracted = {int(n) for m in warnings for n in re.findall(r"reference (\d+) \(retracted\)", m)}
    unresolved = {int(n) for m in warnings
                  for n in re.findall(r"reference (\d+) \(unresolved\)", m)}
    assert retracted == {2}
    assert unresolved == {3, 4, 5, 6}


@pytest.mark.java
@pytest.mark.skipif(shutil.which("java") is None, reason="Java is not installed")
def test_hermit_found_the_shipped_graph_consistent(report) -> None:
    assert "hermit_s" in report.timings  # the check ran
    assert not [r for r in report.results if "HermiT" in r.message or "OWL" in r.message]


def test_every_term_is_labelled_and_defined() -> None:
    store = ox.Store()
    for path in sorted(resources.ontology_dir().glob("*.ttl")):
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
    rows = store.query("""
        PREFIX owl: <http://www.w3.org/2002/07/owl#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?term WHERE {
          VALUES ?kind { owl:Class owl:ObjectProperty owl:DatatypeProperty }
          ?term a ?kind .
          FILTER(STRSTARTS(STR(?term), "https://w3id.org/guidegraph/"))
          FILTER NOT EXISTS { ?term rdfs:label ?l ; skos:definition ?d }
        }""")
    assert [r["term"].value for r in rows] == []


def test_ontology_has_version_iris() -> None:
    store = Knowledge.load().store
    rows = list(store.query("""PREFIX owl: <http://www.w3.org/2002/07/owl#>
        SELECT ?o ?v WHERE { ?o a owl:Ontology ; owl:versionIRI ?v }"""))
    assert len(rows) == 4  # core, schemes, stroke and IV thrombolysis vocabularies
