"""Adding a guideline changes no other guideline's outcome.

A small guideline written here, in a temporary folder, is loaded beside the shipped ones; every
golden case of every shipped guideline must give exactly its reviewed expectation, and the
added guideline, whose population the golden cases are outside (or undecided for), must
contribute nothing but its ``guidelines[]`` entry (and, when undecided, one undecided verdict
per action naming the facts its population needs).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guidegraph.knowledge.loading import Knowledge
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.resources import guidelines_dir

GOLDEN = Path(__file__).parent
SHIPPED = sorted(p for p in guidelines_dir().iterdir() if p.is_dir())
CASES = [p for g in SHIPPED for p in sorted((GOLDEN / g.name / "cases").glob("*"))]

EXTRA = """
@prefix gg:     <https://w3id.org/guidegraph/ontology#> .
@prefix stroke: <https://w3id.org/guidegraph/vocab/stroke#> .
@prefix ex:     <https://example.org/guideline/late-follow-up/> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ungraded: <https://w3id.org/guidegraph/grading/ungraded/> .

ex:guideline a gg:Guideline ; skos:notation "late-follow-up" ; gg:version "1" ;
    rdfs:label "Follow-up beyond one day (test guideline)"@en ;
    gg:population ex:pop-late .
ex:pop-late a gg:Criterion ; skos:notation "beyond-one-day" ;
    rdfs:label "more than one day since onset"@en ;
    gg:fact stroke:minutesSinceOnset ; gg:comparator gg:gt ; gg:threshold 1440 .
ex:follow-up a skos:Concept ; skos:notation "late-follow-up-visit" ;
    skos:prefLabel "follow-up visit"@en .
ex:rec-visit a gg:Recommendation ; skos:notation "late-visit" ;
    rdfs:label "Offer a follow-up visit"@en ; gg:statement "Offer a follow-up visit." ;
    gg:action ex:follow-up ; gg:direction gg:for ; gg:strength ungraded:not-stated ;
    gg:hasCriterion ex:pop-late ; gg:partOfGuideline ex:guideline ; gg:sourceSection "test" .
"""


@pytest.fixture(scope="module")
def widened(tmp_path_factory: pytest.TempPathFactory) -> Reasoner:
    folder = tmp_path_factory.mktemp("data") / "late-follow-up"
    folder.mkdir()
    (folder / "guideline.ttl").write_text(EXTRA, encoding="utf-8")
    return Reasoner(Knowledge.load([*SHIPPED, folder]))


def test_the_added_guideline_is_loaded_and_applies_where_its_population_holds(
        widened: Reasoner) -> None:
    assert [g["id"] for g in widened.guidelines] == sorted(
        [g.name for g in SHIPPED] + ["late-follow-up"])
    result = widened.reason(widened.intake.from_object({"id": "late",
                                                         "minutes_since_onset": 2000}))
    assert result.applicability["late-follow-up"].applies == "yes"
    [verdict] = [c for c in result.conclusions if c.guideline == "late-follow-up"]
    assert (verdict.action, verdict.direction, verdict.decided_by) == (
        "late-follow-up-visit", "for", ["late-visit"])


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_no_shipped_expectation_changes(widened: Reasoner, path: Path, scoped) -> None:
    [case] = list(widened.intake.read(path))
    guideline = path.parent.parent.name
    expected = json.loads((path.parent.parent / "expected" / f"{case.id}.expect.json")
                          .read_text())
    result = widened.reason(case)
    assert {"case": case.id, **scoped(result, guideline)} == expected
    extra = result.applicability["late-follow-up"]
    mine = [c for c in result.conclusions if c.guideline == "late-follow-up"]
    assert not [r for r in result.recommendations + result.not_applicable
                if r.guideline == "late-follow-up"]
    if extra.applies == "no":
        assert mine == []
    else:  # the case does not say how long since onset
        assert (extra.applies, extra.missing) == ("undecided", ["minutes_since_onset"])
        assert [(c.direction, c.missing_facts) for c in mine] == [
            ("undecided", ["minutes_since_onset"])]
