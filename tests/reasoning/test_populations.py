"""A guideline declares its population (gg:population): outside it the guideline is not
applicable and contributes nothing else; with a population fact missing, every action of the
guideline is an undecided verdict naming that fact. Checked on a small guideline written here,
with every engine, in JSON, text and PROV-O (round trip)."""

from __future__ import annotations

import json

import pytest

from guidegraph.knowledge.loading import Knowledge
from guidegraph.provenance import record as provenance
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.reasoning.result import render_text
from guidegraph.resources import guidelines_dir

SCOPED = """
@prefix gg:     <https://w3id.org/guidegraph/ontology#> .
@prefix stroke: <https://w3id.org/guidegraph/vocab/stroke#> .
@prefix setting: <https://w3id.org/guidegraph/vocab/stroke/setting/> .
@prefix ex:     <https://example.org/guideline/scoped/> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ungraded: <https://w3id.org/guidegraph/grading/ungraded/> .

ex:guideline a gg:Guideline ; skos:notation "scoped" ; gg:version "1" ;
    gg:reviewStatus gg:submitted ; gg:disclaimer "For testing only." ;
    gg:population ex:pop-acute, ex:pop-treated .
ex:pop-acute a gg:Criterion ; skos:notation "pop-acute" ; rdfs:label "acute setting"@en ;
    gg:fact stroke:setting ; gg:comparator gg:oneOf ; gg:allowedValue setting:acute .
ex:pop-treated a gg:AnyOf ; skos:notation "pop-treated" ; rdfs:label "treated"@en ;
    gg:member ex:pop-passes, ex:pop-lysis .
ex:pop-passes a gg:Criterion ; skos:notation "pop-passes" ;
    rdfs:label "at least one pass performed"@en ;
    gg:fact stroke:evtPasses ; gg:comparator gg:ge ; gg:threshold 1 .
ex:pop-lysis a gg:Criterion ; skos:notation "pop-lysis" ; rdfs:label "thrombolysis given"@en ;
    gg:fact stroke:ivtGiven ; gg:comparator gg:eq ; gg:threshold true .
ex:late a gg:Criterion ; skos:notation "late" ; rdfs:label "beyond two hours"@en ;
    gg:fact stroke:minutesSinceOnset ; gg:comparator gg:gt ; gg:threshold 120 .
ex:visit a skos:Concept ; skos:notation "scoped-visit" ; skos:prefLabel "visit"@en .
ex:call a skos:Concept ; skos:notation "scoped-call" ; skos:prefLabel "call"@en .
ex:rec-visit a gg:Recommendation ; skos:notation "visit-late" ; rdfs:label "Visit"@en ;
    gg:statement "Visit." ; gg:action ex:visit ; gg:direction gg:for ;
    gg:strength ungraded:not-stated ; gg:hasCriterion ex:late ; gg:partOfGuideline ex:guideline .
ex:rec-call a gg:Recommendation ; skos:notation "call-late" ; rdfs:label "Call"@en ;
    gg:statement "Call." ; gg:action ex:call ; gg:direction gg:against ;
    gg:strength ungraded:not-stated ; gg:hasCriterion ex:late ; gg:partOfGuideline ex:guideline .
"""


@pytest.fixture(scope="module", params=["compiled", "vector", "sparql"])
def scoped_reasoner(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Reasoner:
    folder = tmp_path_factory.mktemp("data") / "scoped"
    folder.mkdir()
    (folder / "guideline.ttl").write_text(SCOPED, encoding="utf-8")
    shipped = sorted(p for p in guidelines_dir().iterdir() if p.is_dir())
    return Reasoner(Knowledge.load([*shipped, folder]), engine=request.param)


def _run(reasoner: Reasoner, **facts: object):
    return reasoner.reason(reasoner.intake.from_object({"id": "p", **facts}))


def _entry(result) -> dict:
    return next(g for g in result.to_json()["guidelines"] if g["id"] == "scoped")


def test_inside_the_population_the_guideline_is_evaluated(scoped_reasoner: Reasoner) -> None:
    result = _run(scoped_reasoner, evt_passes=1, minutes_since_onset=200)
    entry = _entry(result)
    assert (entry["applies"], entry["review_status"], entry["missing_facts"]) == (
        "yes", "submitted", [])
    assert {c["criterion"]: c["status"] for c in entry["population"]} == {
        "pop-acute": "met", "pop-passes": "met"}
    verdicts = {c.action: c.direction for c in result.conclusions if c.guideline == "scoped"}
    assert verdicts == {"scoped-visit": "for", "scoped-call": "against"}


def test_outside_the_population_only_one_line_remains(scoped_reasoner: Reasoner) -> None:
    result = _run(scoped_reasoner, evt_passes=0, ivt_given=False, minutes_since_onset=200)
    entry = _entry(result)
    assert entry["applies"] == "no" and entry["missing_facts"] == []
    assert [(c["criterion"], c["status"], c["facts"], c.get("via")) for c in entry["population"]
            ] == [("pop-lysis", "unmet", ["ivt_given=false"], ["pop-treated"]),
                  ("pop-passes", "unmet", ["evt_passes=0"], ["pop-treated"])]
    everything = result.to_json()
    assert not [r for r in everything["recommendations"] + everything["not_applicable"]
                if r["guideline"] == "scoped"]
    assert not [c for c in everything["conclusions"] if c["guideline"] == "scoped"]
    text = render_text(result)
    assert ("  not applicable to this case: unmet: thrombolysis given (ivt_given=false); "
            "unmet: at least one pass performed (evt_passes=0)") in text.splitlines()
    assert "Disclaimer (scoped)" not in text


def test_an_undecided_population_makes_every_action_undecided(scoped_reasoner: Reasoner
                                                              ) -> None:
    result = _run(scoped_reasoner, evt_passes=0, minutes_since_onset=200)
    entry = _entry(result)
    assert (entry["applies"], entry["missing_facts"]) == ("undecided", ["ivt_given"])
    mine = [c for c in result.conclusions if c.guideline == "scoped"]
    assert [(c.action, c.direction, c.decided_by, c.missing_facts) for c in mine] == [
        ("scoped-call", "undecided", [], ["ivt_given"]),
        ("scoped-visit", "undecided", [], ["ivt_given"])]
    assert "ivt_given" in result.missing_facts
    assert not [r for r in result.recommendations + result.not_applicable
                if r.guideline == "scoped"]
    lines = render_text(result).splitlines()
    assert "  scoped-visit [scoped]: UNDECIDED — needs ivt_given" in lines
    assert "Disclaimer (scoped): For testing only." in lines
    assert any(line.startswith("  population undecided: unknown: thrombolysis given "
                               "(ivt_given)") for line in lines)


@pytest.mark.parametrize("facts", [
    {"evt_passes": 1, "minutes_since_onset": 200}, {"evt_passes": 0, "ivt_given": False},
    {"evt_passes": 0}, {"setting": "elective", "evt_passes": 2}])
def test_applicability_round_trips_through_prov(scoped_reasoner: Reasoner, facts: dict) -> None:
    result = _run(scoped_reasoner, **facts)
    back = provenance.from_triples(provenance.to_triples(result, scoped_reasoner),
                                   scoped_reasoner)
    assert back.to_json() == result.to_json()
    assert json.loads(result.to_json_text()) == result.to_json()
    assert render_text(back) == render_text(result)


def test_engines_agree_on_applicability(scoped_reasoner: Reasoner) -> None:
    reference = Reasoner(scoped_reasoner.knowledge, engine="sparql")
    for facts in ({"evt_passes": 1}, {"evt_passes": 0}, {"setting": "elective"},
                  {"ivt_given": True, "minutes_since_onset": 30}):
        case = scoped_reasoner.intake.from_object({"id": "e", **facts})
        assert scoped_reasoner.reason(case).to_json() == reference.reason(case).to_json()
