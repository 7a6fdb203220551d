"""Small inputs that used to cost gigabytes, and JSON that used to pass silently.

A number's text is bounded in length and exponent before it is converted, so ``1e999999999``
(11 bytes) is refused at once with a short message naming the key, instead of being
converted and printed in full (a gigabyte); ``1e-10000000`` is refused the same way, not
accepted and echoed as ten million zeros. A key given twice in one JSON object is refused
naming it, instead of the last value silently winning. Every message stays short.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.errors import CaseInputError
from guidegraph.reasoning.reasoner import Reasoner

SHORT = 400  # characters: a message quotes a short prefix of a bad value, never all of it


def _refusal(reasoner: Reasoner, text: str, suffix: str = ".json") -> CaseInputError:
    [item] = list(reasoner.intake.read_bytes(text.encode(), suffix, source="probe" + suffix))
    assert isinstance(item, CaseInputError), item
    assert len(str(item)) <= SHORT, len(str(item))
    return item


@pytest.mark.parametrize(("text", "key", "shown"), [
    ('{"id":"c1","stenosis_percent":1e999999999}', "stenosis_percent", "1e999999999"),
    ('{"id":"c1","stenosis_percent":1e-10000000}', "stenosis_percent", "1e-10000000"),
    ('{"id":"c1","stenosis_percent":1E+65}', "stenosis_percent", "1E+65"),
    ('{"id":"c1","evt_passes":' + "9" * 5000 + "}", "evt_passes", "9" * 24 + "..."),
    ('{"id":"c1","stenosis_percent":0.' + "1" * 60 + "}", "stenosis_percent", "0." + "1" * 22),
])
def test_numbers_beyond_the_bounds_are_refused_naming_the_key(reasoner: Reasoner, text: str,
                                                              key: str, shown: str) -> None:
    error = _refusal(reasoner, text)
    assert error.key == key
    assert f"key {key!r}: value {shown}" in str(error)
    assert "more than 40 characters or an exponent beyond ±64" in str(error)


def test_a_json_ld_case_with_such_a_number_is_refused(reasoner: Reasoner) -> None:
    doc = ('{"@context": "https://w3id.org/guidegraph/context/stroke-case.jsonld", '
           '"id": "c1", "stenosis_percent": 1e999999999}')
    error = _refusal(reasoner, doc, ".jsonld")
    assert "the number 1e999999999 has more than 40 characters or an exponent beyond ±64" in (
        str(error))


def test_numbers_within_the_bounds_still_read(reasoner: Reasoner) -> None:
    [case] = list(reasoner.intake.read_bytes(
        b'{"id":"c1","stenosis_percent":7.0e1,"evt_passes":3,"minutes_since_onset":100}',
        ".json", source="ok"))
    assert not isinstance(case, CaseInputError), case
    assert case.facts["stenosis_percent"] == 70
    assert case.facts["evt_passes"] == 3


def test_rdf_numbers_beyond_the_bounds_are_refused(reasoner: Reasoner) -> None:
    ttl = ('@prefix stroke: <https://w3id.org/guidegraph/vocab/stroke#> .\n'
           '@prefix gg: <https://w3id.org/guidegraph/ontology#> .\n'
           '@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
           '<https://w3id.org/guidegraph/case/t1> a gg:Case ;\n'
           '  stroke:stenosisPercent "0.' + "0" * 100 + '1"^^xsd:decimal .\n')
    error = _refusal(reasoner, ttl, ".ttl")
    assert error.key == "stenosis_percent"


@pytest.mark.parametrize(("text", "key"), [
    ('{"id":"c1","evt_passes":25,"evt_passes":3}', "evt_passes"),
    ('{"id":"c1","id":"c2"}', "id"),
    ('[{"id":"a"},{"id":"b","tici":"2a","tici":"3"}]', "tici"),
])
def test_a_key_given_twice_is_refused_naming_it(reasoner: Reasoner, text: str, key: str) -> None:
    [error] = [i for i in reasoner.intake.read_bytes(text.encode(), ".json", source="dup")
               if isinstance(i, CaseInputError)]
    assert error.key == key
    assert f'key "{key}" appears twice in one JSON object' in str(error)


def test_a_long_unknown_key_is_quoted_by_prefix(reasoner: Reasoner) -> None:
    """The message lists the allowed keys (bounded by the contract) and a prefix of the bad
    one: it does not grow with the input."""
    def refused(key: str) -> CaseInputError:
        [item] = list(reasoner.intake.read_bytes(json.dumps({"id": "c1", key: 1}).encode(),
                                                 ".json", source="probe"))
        assert isinstance(item, CaseInputError), item
        return item

    long, short = refused("k" * 100_000), refused("k" * 10)
    assert long.key == "k" * 80
    assert "unknown key 'kkkk" in str(long) and "'..." in str(long)
    assert len(str(long)) - len(str(short)) <= 80


def test_cli_exits_2_at_once_with_a_short_message(tmp_path: Path) -> None:
    case = tmp_path / "big.json"
    case.write_text('{"id":"c1","stenosis_percent":1e999999999}')
    res = CliRunner().invoke(main, ["reason", str(case), "--format", "json"])
    assert res.exit_code == 2 and res.stdout == ""
    assert len(res.stderr) <= SHORT and "stenosis_percent" in res.stderr


@pytest.mark.parametrize("text", ['{"id":"a\\ud800b","evt_passes":1}',
                                  '{"id":"c1","tici":"\\udfff"}',
                                  '{"id":"c1","\\ud800":1}',
                                  '{"id":"c1","tici":"x\\uDBFFy"}',
                                  '[{"id":"c1"},{"id":"c2\\uDC00"}]'])
def test_a_lone_surrogate_is_refused_not_a_traceback(reasoner: Reasoner, text: str) -> None:
    items = list(reasoner.intake.read_bytes(text.encode(), ".json", source="probe.json"))
    [error] = [item for item in items if isinstance(item, CaseInputError)]
    assert "holds a lone surrogate, which is not Unicode text" in str(error)
    assert len(str(error)) <= SHORT
    str(error).encode("utf-8")  # the message itself can be printed


@pytest.mark.parametrize("text", ['{"id":"c\\\\ud800"}', '{"id":"c\\u00e9\\ud83d\\ude00"}'])
def test_an_escaped_backslash_or_a_surrogate_pair_is_text(reasoner: Reasoner, text: str) -> None:
    [case] = list(reasoner.intake.read_bytes(text.encode(), ".json", source="probe.json"))
    assert case.id in ("c\\ud800", "c\u00e9\U0001F600")


def test_a_literal_too_large_for_the_json_ld_parser_is_refused(reasoner: Reasoner) -> None:
    doc = json.dumps({"@context": "https://w3id.org/guidegraph/context/stroke-case.jsonld",
                      "id": "big", "etiology": "x" * 15_000_000})
    error = _refusal(reasoner, doc, ".jsonld")
    assert "too large for the parser" in str(error)
