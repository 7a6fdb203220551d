"""Each authoring check, triggered by its own minimal fixture, and nothing else.

Every fixture under fixtures/ is a self-contained guideline snippet that is clean
except for one mistake; the expected set lists (severity, source, focus) exactly, so a
shape that fires too often or not at all fails here. Each result's message must also
name the fix (a phrase per expected result).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from guidegraph.authoring.validate import ValidationReport, validate

FIXTURES = Path(__file__).parent / "fixtures"
V, W = "Violation", "Warning"

# fixture -> [(severity, source shape or constraint, focus, phrase the message must contain)]
EXPECTED: dict[str, list[tuple[str, str, str, str]]] = {
    "clean": [],
    # recommendations
    "rec-no-action": [(V, "ggsh:Recommendation-action", "ex:rec", "give one action")],
    "rec-no-direction": [(V, "ggsh:Recommendation-direction", "ex:rec", "gg:for, gg:against")],
    "rec-no-strength": [
        (V, "ggsh:Recommendation-strength", "ex:rec", "use the grade the source gives"),
        (V, "ggsh:Recommendation-strengthScheme", "ex:rec", "use a grade from"),
    ],
    "rec-unknown-scheme": [
        (V, "ggsh:Recommendation-strengthScheme", "ex:rec", "known grading scheme")
    ],
    "rec-evidence-level-wrong": [
        (V, "ggsh:Recommendation-evidenceLevel", "ex:rec", "use one level")
    ],
    "rec-no-notation": [(V, "ggsh:Recommendation-notation", "ex:rec", "add one")],
    "rec-duplicate-notation": [
        (V, "ggsh:Recommendation-uniqueNotation", "ex:rec", "its own skos:notation"),
        (V, "ggsh:Recommendation-uniqueNotation", "ex:rec-2", "its own skos:notation"),
    ],
    "rec-no-statement": [(V, "ggsh:Recommendation-statement", "ex:rec", "add a short statement")],
    "rec-no-source-section": [
        (V, "ggsh:Recommendation-sourceSection", "ex:rec", "heading of the source section")
    ],
    "rec-no-criterion": [(V, "ggsh:Recommendation-criterion", "ex:rec", "gg:hasCriterion")],
    "rec-no-guideline": [(V, "ggsh:Recommendation-guideline", "ex:rec", "add gg:partOfGuideline")],
    "rec-evidence-not-statement": [
        (V, "ggsh:Recommendation-evidence", "ex:rec", "type the linked node")
    ],
    "rec-votes-negative": [(V, "ggsh:Recommendation-votes", "ex:rec", "as integers")],
    "rec-not-awaited-not-boolean": [
        (V, "ggsh:Recommendation-notAwaited", "ex:rec", "takes one boolean")
    ],
    "rec-no-citation": [(V, "ggsh:Recommendation-cites", "ex:rec", "add cito:citesAsAuthority")],
    "rec-cites-non-citation": [(V, "ggsh:Citing-citationTyped", "ex:rec", "fix the IRI")],
    "rec-class-iii-for": [
        (V, "ggsh:Recommendation-impliedDirection", "ex:rec", "set gg:direction to gg:against")
    ],
    "rec-consensus-no-votes": [
        (V, "ggsh:Recommendation-voteMissing", "ex:rec", "add gg:consensusVotesFor")
    ],
    "rec-consensus-votes-exceed": [
        (V, "ggsh:Recommendation-voteCount", "ex:rec", "check both numbers")
    ],
    "rec-not-graded": [(W, "ggsh:Recommendation-notGraded", "ex:rec", "set gg:strength")],
    # citations and what rests on them
    "rec-cites-retracted": [
        (W, "ggsh:ProblemCitation-direct", "ex:rec", "reference 2, which is retracted")
    ],
    "evidence-cites-unresolved": [
        (W, "ggsh:ProblemCitation-direct", "ex:ev", "reference 3, which is unresolved"),
        (W, "ggsh:ProblemCitation-viaEvidence", "ex:rec", "reference 3 (unresolved)"),
    ],
    "step-cites-retracted": [
        (W, "ggsh:ProblemCitation-direct", "ex:step-1", "reference 2, which is retracted")
    ],
    "evidence-no-citation": [
        (V, "ggsh:EvidenceStatement-cites", "ex:ev", "add cito:citesAsEvidence")
    ],
    "citation-no-number": [(V, "ggsh:Citation-referenceNumber", "ex:ref-1", "give the number")],
    "citation-no-status": [(V, "ggsh:Citation-status", "ex:ref-1", "gg:unresolved")],
    "citation-retracted-no-notice": [
        (V, "ggsh:Citation-retractionNotice", "ex:ref-2", "record what is known")
    ],
    "citation-active-no-title": [(V, "ggsh:Citation-title", "ex:ref-1", "copy the title")],
    "citation-unresolved-with-title": [
        (V, "ggsh:Citation-unresolvedTitle", "ex:ref-3", "remove the title")
    ],
    # guideline
    "guideline-incomplete": [
        (V, "ggsh:Guideline-title", "ex:guideline", "add the title"),
        (V, "ggsh:Guideline-issuer", "ex:guideline", "add gg:issuer"),
        (V, "ggsh:Guideline-version", "ex:guideline", "single version label"),
        (V, "ggsh:Guideline-recommendation", "ex:guideline", "link its recommendations"),
    ],
    # conditions and criteria
    "condition-untyped": [
        (V, "ggsh:ConditionShape", "ex:crit-x", "add the missing type"),
        (V, "ggsh:Recommendation-criterion", "ex:rec", "gg:Condition"),
    ],
    "condition-both-types": [(V, "ggsh:ConditionShape", "ex:both", "remove the extra one")],
    "group-empty": [(V, "ggsh:CriterionGroup-member", "ex:group", "add the criteria")],
    "criterion-no-fact": [(V, "ggsh:Criterion-operand", "ex:crit", "not both, not neither")],
    "criterion-two-facts": [(V, "ggsh:Criterion-fact", "ex:crit", "test one fact per criterion")],
    "criterion-fact-and-verdict": [
        (V, "ggsh:Criterion-operand", "ex:crit-both", "not both, not neither"),
        # a verdict is not a value of the fact: the fact-side check says so too
        (V, "ggsh:Criterion-conceptType", "ex:crit-both", "use a concept of that value set"),
    ],
    "criterion-verdict-no-guideline": [
        (V, "ggsh:VerdictCriterionShape", "ex:crit-after", "needs gg:partOfGuideline")
    ],
    "criterion-no-comparator": [(V, "ggsh:Criterion-comparator", "ex:crit", "gg:known")],
    "criterion-two-thresholds": [(V, "ggsh:Criterion-threshold", "ex:crit", "keep one value")],
    "criterion-two-threshold-concepts": [
        (V, "ggsh:Criterion-thresholdConcept", "ex:crit", "gg:oneOf with gg:allowedValue")
    ],
    "criterion-two-notations": [(V, "ggsh:Criterion-notation", "ex:crit", "keep one")],
    "criterion-numeric-no-threshold": [
        (V, "ggsh:Criterion-operandMissing", "ex:crit", "add gg:threshold")
    ],
    "criterion-oneof-no-values": [
        (V, "ggsh:Criterion-allowedValueMissing", "ex:crit", "list the concept(s)")
    ],
    "criterion-known-with-threshold": [
        (V, "ggsh:Criterion-operandUnused", "ex:crit", "remove it, or change the comparator")
    ],
    "criterion-integer-fact-decimal-threshold": [
        (V, "ggsh:Criterion-thresholdDatatype", "ex:crit", "no decimal point")
    ],
    "criterion-boolean-ordered": [
        (V, "ggsh:Criterion-orderedBoolean", "ex:crit", "use gg:eq (or gg:ne)")
    ],
    "criterion-unranked-concept": [
        (V, "ggsh:Criterion-unrankedConcept", "ex:crit", "use a concept of an ordered scheme")
    ],
    "criterion-concept-wrong-type": [
        (V, "ggsh:Criterion-conceptType", "ex:crit", "use a concept of that value set")
    ],
    "criterion-threshold-out-of-range": [
        (V, "ggsh:Criterion-thresholdRange", "ex:crit", "[0, 100]: correct the threshold")
    ],
    "criterion-concept-not-in-contract": [
        (V, "ggsh:Criterion-conceptInContract", "ex:crit", "use one of those concepts")
    ],
    # vocabulary: property definitions, shared schemes, evidence measures, duplicate facts
    "property-no-definition": [
        (V, "ggsh:Property-definition", "ex:lesionCount", "add one that says what it means"),
        (V, "ggsh:Property-definition", "exv:lesionSide", "Property https://example.org/vocab#"),
    ],
    "scheme-concept-incomplete": [
        (V, "ggsh:SchemeConcept-notation", "ex:measure-x", "unique in its scheme"),
        (V, "ggsh:SchemeConcept-label", "ex:measure-x", "add the name readers see"),
        (V, "ggsh:SchemeConcept-definition", "ex:measure-x", "say what it means"),
    ],
    "scheme-concept-duplicate-notation": [
        (V, "ggsh:SchemeConcept-uniqueNotation", "ex:hr",
         'the notation "HR" that https://w3id.org/guidegraph/ontology#hazard-ratio already has '
         "in scheme evidence measures"),
        (V, "ggsh:SchemeConcept-uniqueNotation", "gg:hazard-ratio", "its own skos:notation"),
    ],
    "measure-extension": [],
    "figure-no-measure": [(V, "ggsh:EvidenceFigure-measure", "ex:fig", "gg:hazard-ratio")],
    "figure-measure-not-in-scheme": [
        (V, "ggsh:EvidenceFigure-measureScheme", "ex:fig",
         "measure win ratio is not a concept of the evidence measure scheme"),
    ],
    "fact-same-definition": [
        (W, "ggsh:FactProperty-sameDefinition", "ex:onsetMinutes",
         "https://example.org/fixture#onsetMinutes and "
         "https://w3id.org/guidegraph/vocab/stroke#minutesSinceOnset have the same"),
    ],
    "fact-declared-equivalent": [],
    # algorithms: shapes
    "algorithm-no-first-step": [(V, "ggsh:Algorithm-firstStep", "ex:alg", "point it at step 1")],
    "step-no-number": [(V, "ggsh:AlgorithmStep-number", "ex:step-1", "give the number")],
    "step-no-algorithm": [(V, "ggsh:AlgorithmStep-algorithm", "ex:step-1", "add it")],
    "step-two-next": [(V, "ggsh:AlgorithmStep-next", "ex:step-1", "use gg:branch")],
    "branch-no-target": [(V, "ggsh:Branch-target", "ex:branch", "point it at the node")],
    "branch-two-conditions": [(V, "ggsh:Branch-condition", "ex:branch", "combine several")],
    # algorithms: flow (networkx)
    "flow-unreachable": [
        (V, "ggsh:AlgorithmFlow-unreachable", "ex:step-2", "link it with gg:nextStep")
    ],
    "flow-cycle": [(V, "ggsh:AlgorithmFlow-cycle", "ex:step-1", "must be acyclic")],
    "flow-dead-end": [(V, "ggsh:AlgorithmFlow-deadEnd", "ex:step-2", "add gg:nextStep")],
}


@functools.cache
def _run(name: str) -> ValidationReport:
    """One validation run per fixture, shared by the tests that read its report."""
    return validate([FIXTURES / f"{name}.ttl"], hermit=False)


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.stem for p in FIXTURES.glob("*.ttl")}
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


def test_results_name_their_file_and_label() -> None:
    report = _run("rec-no-citation")
    (result,) = report.results
    assert result.file is not None and result.file.endswith("rec-no-citation.ttl")
    assert result.label == "rec-1"
    assert "rec-1" in result.message


def test_authoring_shapes_cover_every_sparql_constraint() -> None:
    """Every SPARQL constraint and property shape in authoring.ttl has a fixture above.

    An unnamed (blank-node) property shape is reported as the named shape holding it, so it
    counts as covered by a fixture of that shape.
    """
    import rdflib
    from rdflib import SH

    shapes = rdflib.Graph().parse(Path(__file__).parents[2] / "shapes" / "authoring.ttl")
    nm = shapes.namespace_manager
    declared = {nm.normalizeUri(c) for c in shapes.objects(None, SH.sparql)}
    for holder, prop in shapes.subject_objects(SH.property):
        named = prop if isinstance(prop, rdflib.URIRef) else holder
        declared.add(nm.normalizeUri(named))
    covered = {src for rows in EXPECTED.values() for _, src, _, _ in rows}
    assert declared - covered == set()
