"""The shipped rescue-stenting graph against its source: counts, grades, figures, references.

Each expectation below was read off the source document section by section; a change to
the guideline that drops or alters one of them must fail here.
"""

from __future__ import annotations

from decimal import Decimal

import pyoxigraph as ox
import pytest

from guidegraph.knowledge.loading import Knowledge
from guidegraph.resources import guidelines_dir

P = """PREFIX gg: <https://w3id.org/guidegraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX cito: <http://purl.org/spar/cito/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


@pytest.fixture(scope="module")
def store() -> ox.Store:
    return Knowledge.load().store


def rows(store: ox.Store, query: str) -> list:
    return list(store.query(P + query))


RS = "https://w3id.org/guidegraph/guideline/rescue-stenting/"


def count(store: ox.Store, cls: str, where: str = "") -> int:
    [row] = rows(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a {cls} . {where} }}")
    return int(row["n"].value)


def count_rs(store: ox.Store, cls: str) -> int:
    """Instances of a class that belong to the rescue-stenting guideline: linked to it by
    gg:partOfGuideline where the class carries it, otherwise by the guideline's namespace."""
    return count(store, cls, f"""FILTER (EXISTS {{ ?x gg:partOfGuideline <{RS}guideline> }}
        || STRSTARTS(STR(?x), "{RS}"))""")


def test_counts_match_the_source(store: ox.Store) -> None:
    part_of = f"?x gg:partOfGuideline <{RS}guideline>"
    assert count(store, "gg:Recommendation", part_of) == 28
    assert count(store, "gg:EvidenceStatement", part_of) == 13
    assert count_rs(store, "gg:Citation") == 6
    assert count_rs(store, "gg:AlgorithmStep") == 6
    assert count_rs(store, "gg:Guideline") == 1
    assert count_rs(store, "gg:ExternalGuideline") == 3
    # one gg:Guideline per shipped guideline folder, whatever guidelines are added
    assert count(store, "gg:Guideline") == len([p for p in guidelines_dir().iterdir()
                                                if p.is_dir()])


def test_citation_statuses(store: ox.Store) -> None:
    found = {int(r["n"].value): r["s"].value for r in rows(store, f"""
        SELECT ?n ?s WHERE {{ ?c gg:referenceNumber ?n ; gg:citationStatus/skos:notation ?s .
            FILTER (STRSTARTS(STR(?c), "{RS}")) }}""")}
    assert found == {1: "active", 2: "retracted", 3: "unresolved", 4: "unresolved",
                     5: "unresolved", 6: "unresolved"}
    [ref2] = rows(store, "SELECT ?t ?v WHERE { ?c gg:referenceNumber 2 ; dcterms:title ?t ; "
                         "gg:publicationVenue ?v . FILTER (STRSTARTS(STR(?c), "
                         f'"{RS}")) }}')
    assert ref2["t"].value.startswith("RETRACTED: Rescue intracranial stenting")
    assert ref2["v"].value.startswith("Interventional neuroradiology")


@pytest.mark.parametrize(("rec", "action", "direction", "strength", "evidence"), [
    ("aha2015-salvage-adjunct", "rescue-stenting", "for", "IIb", "B-R"),
    ("aha2015-tandem-cervical", "cervical-stenting", "uncertain", "IIb", "C"),
    ("aha2021-severe-stenosis-harm", "intracranial-stenting", "against", "III: Harm", "A"),
    ("aha2021-moderate-stenosis-harm", "intracranial-stenting", "against", "III: Harm", "B-NR"),
    ("eso2024-bao-rescue", "rescue-stenting", "for", "expert consensus", None),
    ("pitfall-tici-2b3", "rescue-stenting", "against", "not graded", None),
    ("pitfall-beyond-6h", "rescue-stenting", "against", "not graded", None),
    ("pitfall-embolic-no-stenosis", "rescue-stenting", "against", "not graded", None),
    ("pitfall-tici-2b3-no-intervention", "no-additional-intervention", "for", "not graded", None),
    ("alt-ia-gp2b3a-basilar", "ia-gp2b3a-inhibitor", "for", "not graded", None),
    ("eso2024-addon-antithrombotic", "antithrombotic-addon", "for", "not graded", None),
    ("eso2024-addon-antithrombotic-high-bleeding-risk", "antithrombotic-addon", "uncertain",
     "not graded", None),
    ("basilar-beyond-6h-uncertain", "rescue-stenting", "uncertain", "not graded", None),
    ("alg-5-antiplatelet", "antiplatelet-therapy", "for", "not graded", None),
    ("alg-6-reocclusion-monitoring", "reocclusion-monitoring", "for", "not graded", None),
])
def test_grades_directions_actions(store: ox.Store, rec: str, action: str, direction: str,
                                   strength: str, evidence: str | None) -> None:
    [row] = rows(store, f"""SELECT ?a ?d ?s ?e WHERE {{
        ?r skos:notation "{rec}" ; gg:action/skos:notation ?a ; gg:direction/skos:notation ?d ;
           gg:strength/skos:notation ?s .
        OPTIONAL {{ ?r gg:evidenceLevel/skos:notation ?e }} }}""")
    assert (row["a"].value, row["d"].value, row["s"].value) == (action, direction, strength)
    assert (row["e"].value if row["e"] else None) == evidence


def test_consensus_vote_is_10_of_10(store: ox.Store) -> None:
    [row] = rows(store, 'SELECT ?f ?c WHERE { ?r skos:notation "eso2024-bao-rescue" ; '
                        "gg:consensusVotesFor ?f ; gg:consensusVotesCast ?c }")
    assert (row["f"].value, row["c"].value) == ("10", "10")


def test_indications_and_do_not_rules(store: ox.Store) -> None:
    ind = rows(store, 'SELECT ?id WHERE { ?r a gg:Recommendation ; skos:notation ?id ; '
                      'gg:sourceSection ?s FILTER(STRSTARTS(?s, "When to Deploy")) }')
    assert sorted(r["id"].value for r in ind) == [
        "ind-failed-passes", "ind-icad", "ind-reocclusion", "ind-severe-stenosis"]
    dont = rows(store, 'SELECT ?id WHERE { ?r a gg:Recommendation ; skos:notation ?id ; '
                       'gg:direction gg:against ; gg:sourceSection "Critical Pitfalls to Avoid" }')
    assert sorted(r["id"].value for r in dont) == [
        "pitfall-beyond-6h", "pitfall-embolic-no-stenosis", "pitfall-tici-2b3"]
    signs = rows(store, 'SELECT ?m WHERE { ?g skos:notation "icad-recognition-signs" ; '
                        "gg:member/skos:notation ?m }")
    assert len(signs) == 3


# Every figure of "Evidence Supporting Rescue Stenting", "Technical Considerations" and
# "Alternative Rescue Strategy", with the reference numbers the source gives for it.
FIGURES = {
    "ev-recanalization": ({"79.0", "96.5"}, {5, 6}),
    "ev-functional-outcome": ({"51.6", "35.0", "2.11", "1.22", "4.29", "95"}, {3}),
    "ev-mortality": ({"15.2", "35.1", "0.03"}, {2}),
    "ev-reocclusion-24h": ({"6.3", "17.5", "0.03"}, {3}),
    "ev-symptomatic-ich": ({"4.7", "7.8"}, {3, 5}),
    "ev-procedural-complications": (set(), {2}),
    "ev-time-to-treatment": ({"210", "160"}, {6}),
    "ev-dapt-new-infarcts": ({"0.1"}, {5}),
    "ev-dapt-symptomatic-ich": ({"0.1"}, {5}),
    "ev-ia-tirofiban": (set(), {4}),
    "ev-tandem-prevalence": ({"18.6", "32.2"}, {1}),
    "ev-cervical-stenting-tradeoff": (set(), {1}),
    "ev-gp2b3a-versus-stenting": (set(), {1}),
}


@pytest.mark.parametrize("notation", sorted(FIGURES))
def test_evidence_figures_and_references(store: ox.Store, notation: str) -> None:
    numbers, refs = FIGURES[notation]
    values = rows(store, f"""SELECT ?v WHERE {{ ?e skos:notation "{notation}" ; gg:figure ?f .
        ?f ?p ?v . FILTER(isLiteral(?v) && DATATYPE(?v) IN (xsd:decimal, xsd:integer)) }}""")
    assert {Decimal(r["v"].value) for r in values} == {Decimal(n) for n in numbers}
    cited = rows(store, f"""SELECT ?n WHERE {{ ?e skos:notation "{notation}" ;
        cito:citesAsEvidence/gg:referenceNumber ?n }}""")
    assert {int(r["n"].value) for r in cited} == refs


def test_guideline_metadata(store: ox.Store) -> None:
    [row] = rows(store, """SELECT ?date ?status ?q ?d ?aud WHERE { ?g a gg:Guideline ;
        skos:notation "rescue-stenting" ; gg:lastUpdated ?date ;
        gg:reviewStatus/skos:notation ?status ; gg:clinicalQuestion ?q ;
        gg:disclaimer ?d ; gg:intendedAudience ?aud }""")
    assert row["date"].value == "2025-11-08"
    assert row["status"].value == "submitted"
    assert "thrombolytic" in row["q"].value
    assert row["aud"].value == "healthcare professionals"
    [disc] = rows(store, "SELECT ?q ?c WHERE { ?g gg:hasScopeDiscrepancy ?d . "
                         "?d gg:questionScope ?q ; gg:contentScope ?c }")
    assert "thrombolytic" in disc["q"].value and "thrombectomy" in disc["c"].value


def test_every_recommendation_names_its_section_and_a_citation(store: ox.Store) -> None:
    missing = rows(store, """SELECT ?r WHERE { ?r a gg:Recommendation .
        FILTER NOT EXISTS { ?r gg:sourceSection ?s ; cito:citesAsAuthority ?c } }""")
    assert missing == []


def test_thresholds_as_written(store: ox.Store) -> None:
    found = {r["id"].value: (r["c"].value.rsplit("#", 1)[-1], r["t"].value) for r in rows(
        store, "SELECT ?id ?c ?t WHERE { ?x a gg:Criterion ; skos:notation ?id ; "
               "gg:comparator ?c ; gg:threshold ?t }")}
    assert found["within-6h"] == ("le", "360")
    assert found["beyond-6h"] == ("gt", "360")
    assert found["stenosis-severe"] == ("ge", "70")
    assert found["stenosis-below-severe"] == ("lt", "70")
    assert found["stenosis-at-least-50"] == ("ge", "50")
    assert found["evt-3-passes"] == ("ge", "3")
