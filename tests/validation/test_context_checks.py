"""validate checks the JSON-LD contexts: they merge, and no allowed notation of a concept key
collides with a context term or prefix. Run over temporary data roots: the shipped data plus
the test vocabulary of tests/intake/fixtures/extra-vocabulary (whose 'event' key allows
'stroke', the stroke context's prefix), or with one context edited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.authoring.validate import validate
from guidegraph.cli import main

ROOT = Path(__file__).parents[2]
EXTRA = ROOT / "tests" / "intake" / "fixtures" / "extra-vocabulary"
CLEAN = Path(__file__).parent / "fixtures" / "clean.ttl"


def data_root(target: Path, extra: bool) -> Path:
    for folder in ("ontology", "shapes", "guidelines", "queries", "examples"):
        shutil.copytree(ROOT / folder, target / folder)
    if extra:
        shutil.copy(EXTRA / "extra.ttl", target / "ontology" / "extra.ttl")
        shutil.copy(EXTRA / "case-contract-extra.ttl", target / "shapes")
        shutil.copy(EXTRA / "extra-case.context.jsonld", target / "ontology" / "contexts")
    return target


def test_shipped_contexts_have_no_collision() -> None:
    report = validate([CLEAN], hermit=False)
    assert not [r for r in report.results if r.source and r.source.startswith(
        "ggsh:ContextCheck")]
    assert report.loaded["contexts"] == ["ontology/contexts/ivt-case.context.jsonld",
                                         "ontology/contexts/stroke-case.context.jsonld"]


def test_a_notation_equal_to_a_context_prefix_is_a_violation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDEGRAPH_DATA", str(data_root(tmp_path / "data", extra=True)))
    report = validate([CLEAN], hermit=False)
    found = [r for r in report.results if r.source == "ggsh:ContextCheck-termCollision"]
    assert len(found) == 1  # 'tia' expands to its concept
    [r] = found
    assert r.severity == "Violation" and not report.conforms
    assert r.file == "ontology/contexts/extra-case.context.jsonld"
    assert r.focus == "extra:event" and r.value == "stroke"
    assert r.message == (
        "JSON-LD context key 'event': the allowed value 'stroke' is also the context term "
        "'stroke' (defined in ontology/contexts/stroke-case.context.jsonld), so a JSON-LD case "
        "writing \"event\": \"stroke\" gets <https://w3id.org/guidegraph/vocab/stroke#> instead "
        "of the concept <https://example.org/vocab/extra/event/stroke> (plain JSON cases get "
        "the concept: the two formats disagree). Rename the concept's skos:notation (in its "
        "vocabulary and the case contract), or rename the context term.")
    assert report.loaded["contexts"][0] == "ontology/contexts/extra-case.context.jsonld"
    assert "ontology/extra.ttl" in report.loaded["ontology"]
    assert "shapes/case-contract-extra.ttl" in report.loaded["shapes"]


def test_a_compact_iri_notation_names_its_prefix(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = data_root(tmp_path / "data", extra=True)
    vocab = root / "ontology" / "extra.ttl"
    vocab.write_text(vocab.read_text().replace('skos:notation "tia"', 'skos:notation "xsd:tia"'))
    monkeypatch.setenv("GUIDEGRAPH_DATA", str(root))
    report = validate([CLEAN], hermit=False)
    found = {r.value: r.message for r in report.results
             if r.source == "ggsh:ContextCheck-termCollision"}
    assert set(found) == {"stroke", "xsd:tia"}
    assert ("the allowed value 'xsd:tia' reads as a compact IRI with the context prefix 'xsd' "
            "(defined in ontology/contexts/extra-case.context.jsonld), so a JSON-LD case "
            "writing \"event\": \"xsd:tia\" gets <http://www.w3.org/2001/XMLSchema#tia>"
            ) in found["xsd:tia"]


def test_contexts_that_define_a_term_differently_are_a_violation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = data_root(tmp_path / "data", extra=False)
    path = root / "ontology" / "contexts" / "ivt-case.context.jsonld"
    doc = json.loads(path.read_text())
    doc["@context"]["xsd"] = "http://example.org/not-xsd#"
    path.write_text(json.dumps(doc))
    monkeypatch.setenv("GUIDEGRAPH_DATA", str(root))
    report = validate([CLEAN], hermit=False)
    [r] = [r for r in report.results if r.source == "ggsh:ContextCheck-conflict"]
    assert r.severity == "Violation"
    assert r.message.startswith("The JSON-LD contexts cannot be merged: stroke-case.context."
                                "jsonld: context term 'xsd' conflicts with another context.")


def test_cli_text_and_json_name_the_context_file(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDEGRAPH_DATA", str(data_root(tmp_path / "data", extra=True)))
    res = CliRunner().invoke(main, ["validate", str(CLEAN), "--no-owl"])
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    at = lines.index("ontology/contexts/extra-case.context.jsonld")
    assert lines[at + 1].strip() == "index event <extra:event>"
    assert lines[at + 2].strip().startswith(
        "Violation: JSON-LD context key 'event': the allowed value 'stroke'")
    doc = json.loads(CliRunner().invoke(main, ["validate", str(CLEAN), "--no-owl",
                                               "--format", "json"]).stdout)
    [r] = doc["results"]
    assert (r["file"], r["value"]) == ("ontology/contexts/extra-case.context.jsonld", "stroke")
