"""Case intake: every class of bad input gets a clear message naming case, key, value and
what is allowed; good input in any of the three forms gives the same facts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest

from guidegraph.errors import CaseInputError
from guidegraph.intake.cases import Intake
from guidegraph.reasoning.casegen import generated_cases
from guidegraph.reasoning.reasoner import Reasoner

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def intake(reasoner: Reasoner) -> Intake:
    return reasoner.intake


@pytest.mark.parametrize(("obj", "expected"), [
    ({"id": "c", "tici": "2d"},
     "case 'c': key 'tici': value \"2d\" is not allowed (did you mean '2c'?); allowed: one of "
     "'0', '1', '2a', '2b', '2c', '3'"),
    ({"id": "c", "tici": "2B"}, "did you mean '2b'?"),
    ({"id": "c", "occlusion_site": "Basilar"}, "did you mean 'basilar'?"),
    ({"id": "c", "evt_passes": "3"},
     "case 'c': key 'evt_passes': value \"3\" is not allowed; allowed: an integer from 0 to 20"),
    ({"id": "c", "evt_passes": 3.5}, "key 'evt_passes': value 3.5 is not allowed"),
    ({"id": "c", "evt_passes": True}, "key 'evt_passes': value true is not allowed"),
    ({"id": "c", "evt_passes": 21}, "key 'evt_passes': value 21 is not allowed; allowed: an "
                                    "integer from 0 to 20"),
    ({"id": "c", "minutes_since_onset": -1}, "allowed: an integer from 0 to 10080"),
    ({"id": "c", "minutes_since_onset": 10081}, "value 10081 is not allowed"),
    ({"id": "c", "stenosis_percent": 100.5}, "key 'stenosis_percent': value 100.5 is not "
                                            "allowed; allowed: a number from 0 to 100"),
    ({"id": "c", "stenosis_percent": "70%"}, "value \"70%\" is not allowed"),
    ({"id": "c", "ivt_given": "yes"}, "key 'ivt_given': value \"yes\" is not allowed; allowed: "
                                      "true or false"),
    ({"id": "c", "ivt_given": 1}, "key 'ivt_given': value 1 is not allowed"),
    ({"id": "c", "setting": "chronic"}, "allowed: one of 'acute', 'elective'"),
    ({"id": "c", "tcii": "2a"}, "case 'c': unknown key 'tcii' (did you mean 'tici'?); allowed "
                                "keys: id, setting,"),
    ({"id": "c", "Tici": "2a"}, "unknown key 'Tici'"),
    ({"tici": "2a"}, "key 'id': value null is not allowed; allowed: a non-empty string"),
    ({"id": 7}, "key 'id': value 7 is not allowed"),
    ({"id": "  "}, "key 'id': value \"  \" is not allowed"),
    ({"id": "x" * 300}, "of at most 256 characters"),
    (["not", "an", "object"], "a case must be a JSON object with an 'id' key, got a list"),
    ({"id": "c", "@context": "https://example.org/ctx"},
     "remote JSON-LD @context 'https://example.org/ctx' is not fetched"),
])
def test_bad_json_values_are_refused_with_a_clear_message(intake: Intake, obj: object,
                                                          expected: str) -> None:
    with pytest.raises(CaseInputError) as info:
        intake.from_object(obj)
    assert expected in str(info.value)
    assert info.value.exit_code == 2


def test_null_means_unknown(intake: Intake) -> None:
    case = intake.from_object({"id": "c", "tici": None, "evt_passes": 2})
    assert "tici" not in case.facts and case.facts["evt_passes"] == 2


def test_decimals_keep_their_exact_value(intake: Intake) -> None:
    [case] = intake.read_bytes(b'{"id": "d", "stenosis_percent": 69.99}', ".json", source="s")
    assert case.facts["stenosis_percent"] == Decimal("69.99")


@pytest.mark.parametrize(("name", "expected"), [
    ("broken.json", "broken.json: not valid JSON: Expecting property name enclosed in double "
                    "quotes at line 1 column 26"),
    ("broken.ttl", "broken.ttl: not valid Turtle: Parser error at line 3"),
    ("ill-typed.ttl", "case 't': key 'evt_passes': value \"three\"^^<http://www.w3.org/2001/"
                      "XMLSchema#integer> is not allowed; allowed: an integer from 0 to 20"),
    ("string-for-integer.ttl", "case 't': key 'evt_passes': value \"three\" has datatype "
                               "<http://www.w3.org/2001/XMLSchema#string>; allowed: an integer"),
    ("unknown-property.ttl", "case 't': unknown property "
                             "<https://w3id.org/guidegraph/vocab/stroke#evtPass>"),
    ("two-values.ttl", "case 't': key 'evt_passes': more than one value; allowed: at most one"),
    ("wrong-datatype.ttl", "key 'stenosis_percent': value \"70\" has datatype "
                           "<http://www.w3.org/2001/XMLSchema#string>; allowed: a number"),
    ("remote-context.jsonld", "remote JSON-LD @context 'http://example.org/remote-context.jsonld'"
                              " is not fetched"),
    ("import-context.jsonld", "JSON-LD @import 'http://example.org/ctx.jsonld' is not fetched"),
])
def test_bad_files_are_refused(intake: Intake, name: str, expected: str) -> None:
    [error] = list(intake.read(FIXTURES / name))
    assert isinstance(error, CaseInputError)
    assert expected in str(error)


def test_missing_file_is_reported(intake: Intake) -> None:
    [error] = list(intake.read(FIXTURES / "nope.json"))
    assert "cannot read file" in str(error)


def test_batch_reports_bad_cases_and_keeps_the_others(intake: Intake) -> None:
    items = list(intake.read(FIXTURES / "batch-one-bad.json"))
    assert [type(i).__name__ for i in items] == ["Case", "CaseInputError", "Case"]
    assert "batch-one-bad.json[1]: case 'b-2': key 'tici': value \"9\"" in str(items[1])
    ndjson = list(intake.read(FIXTURES / "batch.ndjson"))
    assert [getattr(i, "id", None) for i in ndjson] == ["n-1", None, "n-3"]
    assert "batch.ndjson:3: case 'n-2': key 'evt_passes': value 25" in str(ndjson[1])


def test_folder_of_mixed_formats(intake: Intake) -> None:
    ids = [c.id for c in intake.read(FIXTURES / "folder")]
    assert ids == ["f-1", "f-2"]


def test_three_forms_give_the_same_facts(intake: Intake) -> None:
    plain = intake.from_object({"id": "same", "tici": "2a", "evt_passes": 3,
                                "stenosis_percent": 72.5, "ivt_given": True})
    context_iri = "https://w3id.org/guidegraph/context/stroke-case.jsonld"
    jsonld = intake.from_object({"@context": context_iri, "id": "same", "tici": "2a",
                                 "evt_passes": 3, "stenosis_percent": 72.5, "ivt_given": True})
    turtle_text = ox.serialize(intake.triples(plain, include_defaults=False),
                               format=ox.RdfFormat.TURTLE)
    [turtle] = intake.from_rdf(turtle_text, ox.RdfFormat.TURTLE)
    assert plain.facts == jsonld.facts == turtle.facts
    assert plain.iri == jsonld.iri == turtle.iri


def test_compiled_json_mapping_equals_the_jsonld_context(intake: Intake, reasoner: Reasoner
                                                         ) -> None:
    """The fast JSON path produces the triples the published context defines."""
    for obj in generated_cases(reasoner, 300, seed=3):
        case = intake.from_object(obj)
        ours = {(t.predicate.value, _value(t.object)) for t in
                intake.triples(case, include_defaults=False)}
        doc = {"@context": intake.context,
               **{k: (float(v) if isinstance(v, Decimal) else v) for k, v in obj.items()}}
        theirs = {(q.predicate.value, _value(q.object)) for q in
                  ox.parse(json.dumps(doc).encode(), format=ox.RdfFormat.JSON_LD)}
        theirs.add(("http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
                    "https://w3id.org/guidegraph/ontology#Case"))
        assert ours == theirs, obj


def _value(term: object) -> object:
    if isinstance(term, ox.Literal) and term.datatype.value.endswith(("#decimal", "#integer")):
        return Decimal(term.value)
    return term.value


def test_context_and_contract_agree(intake: Intake) -> None:
    """Every contract key is a context term with the same IRI, and every value notation
    expands (through the term's scoped @vocab) to the contract's concept IRI."""
    ctx = intake.context
    prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and not k.startswith("@")}
    for key, spec in intake.contract.facts.items():
        term = ctx[key]
        prefix, local = term["@id"].split(":", 1)
        assert prefixes[prefix] + local == spec.iri, key
        if spec.kind == "concept":
            vocab = term["@context"]["@vocab"]
            assert {vocab + n for n in spec.allowed} == set(spec.allowed.values()), key
        else:
            assert term["@type"] == "xsd:" + spec.kind, key
    assert set(intake.contract.facts) == {k for k, v in ctx.items()
                                          if isinstance(v, dict)}
