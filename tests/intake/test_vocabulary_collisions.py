"""Intake over extra case vocabulary (fixtures/extra-vocabulary, in a temporary data root):
a notation that JSON-LD would read as a context prefix, and second keys declared
owl:equivalentProperty to shipped ones, which a case may not give with another value."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.errors import CaseInputError
from guidegraph.intake.cases import Intake, context_collisions
from guidegraph.reasoning.reasoner import Reasoner

STROKE_CONTEXT = "https://w3id.org/guidegraph/context/stroke-case.jsonld"
EVENT = "https://example.org/vocab/extra/event/"
SETTING = "https://w3id.org/guidegraph/vocab/stroke/setting/"


@pytest.fixture
def intake(extra_data: Path) -> Intake:
    return Reasoner().intake


def refused(intake: Intake, obj: dict) -> str:
    with pytest.raises(CaseInputError) as info:
        intake.from_object(obj, source="case.json")
    return str(info.value)


# -- a notation that is also a context prefix ------------------------------------------------
def test_the_collision_is_found_by_expanding_every_notation(intake: Intake) -> None:
    [found] = context_collisions(intake.contract, intake.context)
    assert (found.key, found.notation, found.term) == ("event", "stroke", "stroke")
    assert found.concept == EVENT + "stroke"
    assert found.expands_to == "https://w3id.org/guidegraph/vocab/stroke#"


def test_plain_json_reads_the_contract_and_gets_the_concept(intake: Intake) -> None:
    case = intake.from_object({"id": "c", "event": "stroke"})
    assert case.facts["event"] == EVENT + "stroke"


def test_jsonld_with_the_colliding_value_is_refused_naming_key_value_and_term(
        intake: Intake) -> None:
    message = refused(intake, {"@context": STROKE_CONTEXT, "id": "c", "event": "stroke"})
    assert message == (
        "case.json: case 'c': key 'event': value 'stroke' is allowed, but the JSON-LD context "
        "expands it to <https://w3id.org/guidegraph/vocab/stroke#> instead of the concept "
        f"<{EVENT}stroke>, because 'stroke' is also a term of the JSON-LD context; write the "
        f"concept IRI in full ('{EVENT}stroke') or give the case as plain JSON")


def test_jsonld_values_without_a_collision_and_full_iris_are_read(intake: Intake) -> None:
    tia = intake.from_object({"@context": STROKE_CONTEXT, "id": "c", "event": "tia"})
    assert tia.facts["event"] == EVENT + "tia"
    full = intake.from_object({"@context": STROKE_CONTEXT, "id": "c",
                               "event": EVENT + "stroke"})
    assert full.facts["event"] == EVENT + "stroke"


def test_a_notation_the_context_drops_is_refused_not_read_as_unknown(intake: Intake) -> None:
    """A value that expands to a keyword (here the term id, an alias of @id) leaves no
    triple: without the check the fact would silently be unknown."""
    context = dict(intake.context)
    event = dict(context["event"])
    event["@context"] = {**event["@context"], "tia": "@id"}
    context["event"] = event
    message = refused(Intake(intake.contract, context),
                      {"@context": context, "id": "c", "evt_passes": 2, "event": "tia"})
    assert "key 'event': value 'tia' is allowed, but the JSON-LD context expands it to " \
           "nothing (the value is dropped)" in message
    assert "'tia' is also a term of the JSON-LD context" in message


def test_reason_exits_2_on_the_colliding_jsonld_case(extra_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "event.jsonld"
    path.write_text(json.dumps({"@context": STROKE_CONTEXT, "id": "c", "event": "stroke"}))
    res = CliRunner().invoke(main, ["reason", str(path)])
    assert res.exit_code == 2
    assert "key 'event': value 'stroke' is allowed, but the JSON-LD context expands it to " \
           "<https://w3id.org/guidegraph/vocab/stroke#>" in res.stderr


# -- keys declared one fact ----------------------------------------------------------------------
def test_equivalent_keys_are_grouped_from_owl_equivalent_property(intake: Intake) -> None:
    assert intake.contract.equivalents == (("setting", "care_setting"),
                                           ("minutes_since_onset", "onset_minutes"))


@pytest.mark.parametrize(("obj", "first", "second"), [
    ({"id": "c", "minutes_since_onset": 100, "onset_minutes": 120},
     "'minutes_since_onset' is 100", "'onset_minutes' is 120"),
    ({"id": "c", "setting": "acute", "care_setting": "elective"},
     "'setting' is acute", "'care_setting' is elective"),
])
def test_different_values_for_one_fact_are_refused(intake: Intake, obj: dict, first: str,
                                                   second: str) -> None:
    a, b = (k for k in obj if k != "id")
    assert refused(intake, obj) == (
        f"case.json: case 'c': keys '{a}' and '{b}' state one fact (their properties are "
        f"declared owl:equivalentProperty) but have different values: {first}, {second}; "
        "give one of them, or the same value in both")


def test_the_same_value_under_both_keys_is_accepted(intake: Intake) -> None:
    case = intake.from_object({"id": "c", "minutes_since_onset": 100, "onset_minutes": 100.0})
    assert case.facts["minutes_since_onset"] == 100
    assert case.facts["onset_minutes"] == Decimal("100.0")


def test_a_key_whose_equivalent_is_given_is_not_defaulted(intake: Intake) -> None:
    """setting defaults to acute; a case saying care_setting elective does not get both."""
    given = intake.from_object({"id": "c", "care_setting": "elective"})
    assert given.facts == {"care_setting": SETTING + "elective"}
    assert given.defaulted == frozenset()
    neither = intake.from_object({"id": "c"})
    assert neither.facts == {"setting": SETTING + "acute"}


def test_rdf_cases_are_checked_too(intake: Intake) -> None:
    turtle = f"""
        @prefix gg: <https://w3id.org/guidegraph/ontology#> .
        @prefix stroke: <https://w3id.org/guidegraph/vocab/stroke#> .
        @prefix extra: <https://example.org/vocab/extra#> .
        <https://w3id.org/guidegraph/case/c> a gg:Case ; stroke:setting <{SETTING}acute> ;
            extra:careSetting <{SETTING}elective> .
    """
    [error] = list(intake.read_bytes(turtle.encode(), ".ttl", source="case.ttl"))
    assert isinstance(error, CaseInputError)
    assert "keys 'setting' and 'care_setting' state one fact" in str(error)
    assert "'setting' is acute, 'care_setting' is elective" in str(error)


def test_reason_exits_2_naming_both_keys_and_values(extra_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "late.json"
    path.write_text(json.dumps({"id": "late", "minutes_since_onset": 300,
                                "onset_minutes": 3000}))
    res = CliRunner().invoke(main, ["reason", str(path)])
    assert res.exit_code == 2
    assert ("keys 'minutes_since_onset' and 'onset_minutes' state one fact (their properties "
            "are declared owl:equivalentProperty) but have different values: "
            "'minutes_since_onset' is 300, 'onset_minutes' is 3000") in res.stderr
