"""The shipped IV alteplase eligibility graph against its source (2019 AHA/ASA, section 3.5,
Table 8 and the pre-thrombolysis blood pressure recommendation of section 3.2): counts,
grades, directions, thresholds as worded, references and evidence figures.

A change that drops or alters one of these must fail here and be checked against the source.
"""

from __future__ import annotations

from decimal import Decimal

import pyoxigraph as ox
import pytest

from guidegraph.knowledge.loading import Knowledge

IVTE = "https://w3id.org/guidegraph/guideline/ivt-eligibility/"
P = """PREFIX gg: <https://w3id.org/guidegraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX cito: <http://purl.org/spar/cito/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


@pytest.fixture(scope="module")
def store() -> ox.Store:
    return Knowledge.load().store


def rows(store: ox.Store, query: str) -> list:
    return list(store.query(P + query))


def in_ivt(store: ox.Store, cls: str) -> int:
    [row] = rows(store, f"""SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a {cls} .
        FILTER (STRSTARTS(STR(?x), "{IVTE}")) }}""")
    return int(row["n"].value)


def test_counts(store: ox.Store) -> None:
    [row] = rows(store, f"""SELECT (COUNT(?r) AS ?n) WHERE {{
        ?r a gg:Recommendation ; gg:partOfGuideline <{IVTE}guideline> }}""")
    assert int(row["n"].value) == 28
    assert in_ivt(store, "gg:Criterion") == 57
    assert in_ivt(store, "gg:CriterionGroup") == 0  # groups are typed by their kind
    assert in_ivt(store, "gg:AllOf") + in_ivt(store, "gg:AnyOf") + in_ivt(store, "gg:NoneOf") == 19
    assert in_ivt(store, "gg:Citation") == 5
    assert in_ivt(store, "gg:EvidenceStatement") == 5


def test_guideline_metadata(store: ox.Store) -> None:
    [row] = rows(store, f"""SELECT ?year ?status ?issuer WHERE {{ <{IVTE}guideline>
        gg:year ?year ; gg:reviewStatus/skos:notation ?status ;
        gg:issuer/<http://www.w3.org/2000/01/rdf-schema#label> ?issuer }}""")
    assert (row["year"].value, row["status"].value) == ("2019", "approved")
    assert row["year"].datatype == ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    assert "American Heart Association" in row["issuer"].value


@pytest.mark.parametrize(("rec", "direction", "strength", "evidence"), [
    ("ivt-0-3h", "for", "I", "A"),
    ("ivt-3-4.5h-selected", "for", "I", "B-R"),
    ("ivt-3-4.5h-age-over-80", "for", "IIa", "B-NR"),
    ("ivt-3-4.5h-warfarin-inr-1.7", "for", "IIb", "B-NR"),
    ("ivt-3-4.5h-diabetes-and-prior-stroke", "for", "IIb", "B-NR"),
    ("ivt-3-4.5h-nihss-over-25", "uncertain", "IIb", "C-LD"),
    ("ivt-mild-disabling-0-3h", "for", "I", "B-R"),
    ("ivt-mild-disabling-3-4.5h", "for", "IIb", "B-NR"),
    ("ivt-mild-nondisabling-0-3h", "against", "III: No Benefit", "B-R"),
    ("ivt-mild-nondisabling-3-4.5h", "against", "III: No Benefit", "C-LD"),
    ("ivt-unknown-onset-dwi-flair", "for", "IIa", "B-R"),
    ("bp-below-185-110-before-ivt", "for", "I", "B-NR"),
    ("ivt-glucose-normalized", "for", "IIb", "C-LD"),
    ("no-ivt-glucose-not-normalized", "against", "not graded", None),
    ("no-ivt-extensive-ct-hypoattenuation", "against", "III: No Benefit", None),
    ("no-ivt-post-traumatic-infarction", "against", "III: Harm", "C-EO"),
    ("no-ivt-ich-on-imaging", "against", "III: Harm", "C-EO"),
    ("no-ivt-prior-ich", "against", "III: Harm", "C-EO"),
    ("no-ivt-ischemic-stroke-3-months", "against", "III: Harm", "B-NR"),
    ("no-ivt-severe-head-trauma-3-months", "against", "III: Harm", "C-EO"),
    ("no-ivt-intracranial-spinal-surgery-3-months", "against", "III: Harm", "C-EO"),
    ("no-ivt-gi-malignancy-or-bleed", "against", "III: Harm", "C-EO"),
    ("no-ivt-coagulopathy", "against", "III: Harm", "C-EO"),
    ("no-ivt-lmwh-24h", "against", "III: Harm", "B-NR"),
    ("no-ivt-doac-48h", "against", "III: Harm", "C-EO"),
    ("no-ivt-infective-endocarditis", "against", "III: Harm", "C-LD"),
    ("no-ivt-aortic-arch-dissection", "against", "III: Harm", "C-EO"),
    ("no-ivt-intra-axial-neoplasm", "against", "III: Harm", "C-EO"),
])
def test_grades_and_directions(store: ox.Store, rec: str, direction: str, strength: str,
                               evidence: str | None) -> None:
    [row] = rows(store, f"""SELECT ?d ?s ?e ?sec WHERE {{
        ?r skos:notation "{rec}" ; gg:partOfGuideline <{IVTE}guideline> ;
           gg:direction/skos:notation ?d ; gg:strength/skos:notation ?s ;
           gg:sourceSection ?sec ; cito:citesAsAuthority <{IVTE}ref-1> .
        OPTIONAL {{ ?r gg:evidenceLevel/skos:notation ?e }} }}""")
    assert (row["d"].value, row["s"].value) == (direction, strength)
    assert (row["e"].value if row["e"] else None) == evidence
    assert "3.5" in row["sec"].value or "Table 8" in row["sec"].value


@pytest.mark.parametrize(("criterion", "comparator", "threshold"), [
    ("age-18-or-older", "ge", "18"),
    ("age-over-80", "gt", "80"),
    ("within-3h", "le", "180"),
    ("after-3h", "gt", "180"),
    ("within-4.5h", "le", "270"),
    ("sbp-below-185", "lt", "185"),
    ("dbp-below-110", "lt", "110"),
    ("glucose-below-50", "lt", "50"),
    ("glucose-above-400", "gt", "400"),
    ("inr-above-1.7", "gt", "1.7"),
    ("platelets-below-100000", "lt", "100000"),
    ("aptt-above-40s", "gt", "40"),
    ("aptt-40s-or-less", "le", "40"),
    ("pt-above-15s", "gt", "15"),
    ("pt-15s-or-less", "le", "15"),
    ("doac-dose-within-48h", "le", "48"),
    ("nihss-0-to-5", "le", "5"),
    ("nihss-above-25", "gt", "25"),
])
def test_thresholds_as_worded(store: ox.Store, criterion: str, comparator: str,
                              threshold: str) -> None:
    [row] = rows(store, f"""SELECT ?c ?t WHERE {{ ?x skos:notation "{criterion}" ;
        gg:comparator ?c ; gg:threshold ?t . FILTER (STRSTARTS(STR(?x), "{IVTE}")) }}""")
    assert row["c"].value.rsplit("#", 1)[-1] == comparator
    assert Decimal(row["t"].value) == Decimal(threshold)


def test_references_are_active_with_bibliographic_data(store: ox.Store) -> None:
    found = {int(r["n"].value): (r["s"].value, r["b"].value) for r in rows(store, f"""
        SELECT ?n ?s ?b WHERE {{ ?c gg:referenceNumber ?n ; gg:citationStatus/skos:notation ?s ;
            dcterms:bibliographicCitation ?b ; dcterms:title ?t .
            FILTER (STRSTARTS(STR(?c), "{IVTE}")) }}""")}
    assert {n: s for n, (s, _) in found.items()} == {n: "active" for n in range(1, 6)}
    assert found[1][1].startswith("Stroke. 2019;50")
    assert found[2][1].startswith("N Engl J Med. 1995;333")


FIGURES = {
    "ev-ninds-symptomatic-ich": ({"6.4", "0.6"}, {2}),
    "ev-ecass3-favorable-outcome": ({"52.4", "45.2", "1.34", "1.02", "1.76", "95"}, {3}),
    "ev-ecass3-symptomatic-ich": ({"2.4", "0.2"}, {3}),
    "ev-prisms-mild-nondisabling": ({"78.2", "81.5", "3.2", "0"}, {4}),
    "ev-wake-up-favorable-outcome": ({"53.3", "41.8", "1.61", "1.09", "2.36", "95"}, {5}),
}


@pytest.mark.parametrize("notation", sorted(FIGURES))
def test_evidence_figures(store: ox.Store, notation: str) -> None:
    numbers, refs = FIGURES[notation]
    values = rows(store, f"""SELECT ?v WHERE {{ ?e skos:notation "{notation}" ; gg:figure ?f .
        ?f ?p ?v . FILTER(isLiteral(?v) && DATATYPE(?v) IN (xsd:decimal, xsd:integer)) }}""")
    assert {Decimal(r["v"].value) for r in values} == {Decimal(n) for n in numbers}
    cited = rows(store, f"""SELECT ?n WHERE {{ ?e skos:notation "{notation}" ;
        cito:citesAsEvidence/gg:referenceNumber ?n }}""")
    assert {int(r["n"].value) for r in cited} == refs
