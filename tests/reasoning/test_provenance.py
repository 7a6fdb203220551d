"""PROV-O provenance: deterministic, complete, and the source every rendering comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from guidegraph.provenance import record as provenance
from guidegraph.reasoning.reasoner import Reasoner

CASES = sorted((Path(__file__).parents[1] / "golden" / "rescue-stenting" / "cases").iterdir())
PROV = "http://www.w3.org/ns/prov#"
GG = "https://w3id.org/guidegraph/ontology#"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_json_rendered_from_rdf_equals_the_live_result(reasoner: Reasoner, path: Path) -> None:
    for case in reasoner.intake.read(path):
        result = reasoner.reason(case)
        back = provenance.from_triples(provenance.to_triples(result, reasoner), reasoner)
        assert back.to_json() == result.to_json()
        assert back.facts == result.facts and back.defaulted == result.defaulted


def _without_time(nt: str) -> Graph:
    g = Graph().parse(data=nt, format="nt")
    for pred in ("startedAtTime", "endedAtTime"):
        g.remove((None, URIRef(PROV + pred), None))
    return g


def test_two_runs_are_isomorphic_apart_from_timestamps(reasoner: Reasoner) -> None:
    case = reasoner.intake.from_object({"id": "twice", "evt_passes": 3, "tici": "1"})
    first = provenance.to_ntriples(reasoner.reason(case), reasoner)
    second = provenance.to_ntriples(reasoner.reason(case), reasoner)
    assert first != second  # timestamps differ
    assert isomorphic(_without_time(first), _without_time(second))
    other = reasoner.intake.from_object({"id": "twice", "evt_passes": 3, "tici": "2a"})
    assert reasoner.run_iri(other) != reasoner.run_iri(case)


def test_qualified_derivation_names_criterion_and_fact(reasoner: Reasoner) -> None:
    case = reasoner.intake.from_object({"id": "q", "minutes_since_onset": 360, "evt_passes": 3,
                                        "tici": "2a", "stenosis_percent": 70})
    result = reasoner.reason(case)
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object)
                 for t in provenance.to_triples(result, reasoner))
    rows = list(store.query(f"""
        PREFIX prov: <{PROV}> PREFIX gg: <{GG}>
        SELECT ?criterion ?key ?value WHERE {{
          ?derived a gg:DerivedRecommendation ; gg:evaluates ?rec ;
                   prov:wasGeneratedBy ?run ; prov:qualifiedDerivation ?d .
          ?d a prov:Derivation ; prov:entity ?rec ; prov:hadActivity ?run ;
             gg:criterion ?criterion ; gg:status gg:met ; gg:usedFact ?fact .
          ?fact gg:factKey ?key ; <http://www.w3.org/1999/02/22-rdf-syntax-ns#value> ?value .
          ?derived <http://www.w3.org/2004/02/skos/core#notation> "aha2015-salvage-adjunct" .
        }}"""))
    found = {(r["criterion"].value.rsplit("/", 1)[-1], r["key"].value, r["value"].value)
             for r in rows}
    assert ("crit-within-6h", "minutes_since_onset", "360") in found
    assert ("crit-evt-attempted", "evt_passes", "3") in found
    ask = f"""PREFIX prov: <{PROV}> PREFIX gg: <{GG}>
        ASK {{ ?run a gg:ReasoningRun ; prov:startedAtTime ?s ; prov:endedAtTime ?e ;
                    prov:wasAssociatedWith ?agent ; prov:used ?snap .
               ?agent a prov:SoftwareAgent .
               ?snap a gg:GuidelineSnapshot ; gg:contentHash ?hash . }}"""
    assert store.query(ask)


def test_warnings_and_citations_in_rdf(reasoner: Reasoner) -> None:
    case = reasoner.intake.from_object({"id": "w", "evt_passes": 3, "tici": "0",
                                        "minutes_since_onset": 100})
    nt = provenance.to_ntriples(reasoner.reason(case), reasoner)
    g = Graph().parse(data=nt, format="nt")
    ref2 = URIRef("https://w3id.org/guidegraph/guideline/rescue-stenting/ref-2")
    assert (None, URIRef(GG + "restsOnCitation"), ref2) in g


def test_turtle_and_jsonld_outputs_parse_back(reasoner: Reasoner) -> None:
    case = reasoner.intake.from_object({"id": "fmt", "evt_passes": 1, "tici": "3"})
    nt = provenance.to_ntriples(reasoner.reason(case), reasoner)
    base = Graph().parse(data=nt, format="nt")
    ttl = provenance.serialize_ntriples(nt, "turtle")
    assert ttl.startswith("@prefix")
    assert isomorphic(Graph().parse(data=ttl, format="turtle"), base)
    jsonld = provenance.serialize_ntriples(nt, "jsonld")
    parsed = list(ox.parse(jsonld.encode(), format=ox.RdfFormat.JSON_LD))
    assert len(parsed) == len(base)
    json.loads(jsonld)


def test_literals_are_escaped(reasoner: Reasoner) -> None:
    nasty = 'quote " backslash \\ newline \n tab \t brace } hash #'
    case = reasoner.intake.from_object({"id": nasty, "evt_passes": 1})
    result = reasoner.reason(case)
    triples = provenance.to_triples(result, reasoner)
    back = provenance.from_triples(triples, reasoner)
    assert back.case_id == nasty and back.to_json() == result.to_json()


def test_fast_json_text_equals_json_as_data(reasoner: Reasoner) -> None:
    from guidegraph.reasoning.casegen import generated_cases

    for obj in generated_cases(reasoner, 400, seed=11):
        result = reasoner.reason(reasoner.intake.from_object(obj))
        assert json.loads(result.to_json_text()) == result.to_json()
        again = reasoner.reason(reasoner.intake.from_object(obj))  # cached outcomes reused
        assert json.loads(again.to_json_text()) == again.to_json()
