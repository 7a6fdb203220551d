"""Injection: values with quotes, braces, ``#``, newlines and backslashes, given as case ids
and as ``--bind`` values, never change the store (hash of its sorted N-Quads) and give the
same results as a plain value; such a case id round-trips through the store."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore

from .conftest import REPO, store_hash

PLAIN = "plain-case"
HOSTILE = [
    'x" } ; DROP ALL #',
    "x' } ; CLEAR DEFAULT #",
    'a\\" } INSERT DATA { <s> <p> <o> } #',
    "brace{}} ]) .",
    "hash # comment",
    "new\nline } #",
    "back\\slash\\",
    '"""triple',
    "<not-an-iri>x",
    "é\u202e\u0000?",
]
FACTS = json.loads((REPO / "examples" / "basilar-icad-failed-evt.json").read_text())


def _case_file(folder: Path, case_id: str, index: int) -> Path:
    path = folder / f"case-{index}.json"
    path.write_text(json.dumps({**FACTS, "id": case_id}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A store with the shipped knowledge and one saved run per case id (same facts)."""
    root = tmp_path_factory.mktemp("injection")
    spec = str(root / "store")
    runner = CliRunner()
    files = {cid: _case_file(root, cid, i) for i, cid in enumerate([PLAIN, *HOSTILE])}
    result = runner.invoke(main, ["reason", *map(str, files.values()), "--save", "--store",
                                  spec, "--format", "json"])
    assert result.exit_code == 0, result.output
    return Path(spec), files


def _hash(path: Path) -> str:
    store = EmbeddedStore(path)
    try:
        return store_hash(store)
    finally:
        store.close()


def _runs_for(spec: Path, case_id: str) -> list[dict[str, str]]:
    out = CliRunner().invoke(main, ["query", "runs-for-case", "--store", str(spec), "--bind",
                                    f"case={case_id}", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def test_bound_values_change_nothing_and_match_the_plain_value(
        saved: tuple[Path, dict[str, Path]]) -> None:
    spec, _files = saved
    before = _hash(spec)
    same = ("guideline", "version", "derived", "undecided", "rejected")

    def summary(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
        return sorted(tuple(r[k] for k in same) for r in rows)

    plain = _runs_for(spec, PLAIN)
    assert plain and len({r["run"] for r in plain}) == 1  # one run, a row per guideline
    for case_id in HOSTILE:
        rows = _runs_for(spec, case_id)
        assert len({r["run"] for r in rows}) == 1, (case_id, rows)
        assert {r["case"] for r in rows} == {case_id}
        assert summary(rows) == summary(plain)
    assert _hash(spec) == before  # a change by any query would persist to here


def test_bound_values_in_other_queries(saved: tuple[Path, dict[str, Path]]) -> None:
    spec, _files = saved
    before = _hash(spec)
    runner = CliRunner()
    for value in HOSTILE:
        out = runner.invoke(main, ["query", "criteria-using-fact", "--store", str(spec),
                                   "--bind", f"key=stenosis_percent{value}", "--format",
                                   "json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["results"]["bindings"] == []
        out = runner.invoke(main, ["query", "--store", str(spec), "--bind", f"v={value}",
                                   "--format", "json",
                                   "SELECT ?v (STRLEN(?v) AS ?n) WHERE { }"])
        assert out.exit_code == 0, out.output
        [row] = json.loads(out.stdout)["results"]["bindings"]
        assert row["v"]["value"] == value.strip()
    assert _hash(spec) == before


def test_store_api_bindings(saved: tuple[Path, dict[str, Path]]) -> None:
    spec, _files = saved
    store = EmbeddedStore(spec)
    try:
        before = store_hash(store)
        query = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
                 "SELECT ?c WHERE { GRAPH ?g { ?c skos:notation ?id } }")
        plain = store.query(query, bindings={"id": ox.Literal(PLAIN)},
                            default_graphs=versions.current_dataset(store)).table
        for case_id in HOSTILE:
            table = store.query(query, bindings={"id": ox.Literal(case_id)},
                                default_graphs=versions.current_dataset(store)).table
            assert len(table.rows) == len(plain.rows) == 1
        assert store_hash(store) == before
    finally:
        store.close()


def test_hostile_case_id_round_trips(saved: tuple[Path, dict[str, Path]]) -> None:
    spec, files = saved
    runner = CliRunner()
    case_id = 'x" } ; DROP ALL #'
    row = _runs_for(spec, case_id)[0]
    explained = runner.invoke(main, ["explain", "--run", row["run"], "--store", str(spec)])
    direct = runner.invoke(main, ["explain", str(files[case_id])])
    assert explained.exit_code == 0 and direct.exit_code == 0, explained.output
    assert explained.stdout.replace(row["run"], "") == direct.stdout.replace(row["run"], "")
    again = runner.invoke(main, ["reason", str(files[case_id]), "--store", str(spec),
                                 "--format", "json"])
    assert json.loads(again.stdout)["case"].endswith("x%22%20%7D%20%3B%20DROP%20ALL%20%23")


# -- ids that try to write triples or forge report lines ----------------------------------
FORGING_IDS = [
    "a:x> <http://www.w3.org/ns/prov#wasAttributedTo> <urn:attacker> . <a:y",
    'urn:x"> <urn:p> "o" . <urn:y',
    "mailto:a b",
]


@pytest.mark.parametrize("case_id", FORGING_IDS)
def test_an_id_that_is_no_iri_is_minted_under_the_base_and_adds_no_triple(case_id: str) -> None:
    """An id with a scheme becomes the case IRI only if the RDF library parses it as an IRI;
    otherwise it is percent-encoded under the case base. The N-Triples output then holds
    exactly the triples of a plain id's run, the id itself only as a literal."""
    from guidegraph.provenance import record as provenance
    from guidegraph.reasoning.reasoner import Reasoner

    reasoner = Reasoner()
    forged = reasoner.intake.from_object({**FACTS, "id": case_id})
    plain = reasoner.intake.from_object({**FACTS, "id": "plain"})
    assert forged.iri.startswith(reasoner.intake.base) and " " not in forged.iri
    assert reasoner.intake.case_id(forged.iri) == case_id
    for fmt in ("ntriples", "turtle"):
        nt = provenance.to_ntriples(reasoner.reason(forged), reasoner)
        text = provenance.serialize_ntriples(nt, fmt)
        parsed = list(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES if fmt == "ntriples"
                               else ox.RdfFormat.TURTLE))
        baseline = provenance.to_ntriples(reasoner.reason(plain), reasoner)
        assert len(parsed) == len(list(ox.parse(baseline.encode(),
                                                format=ox.RdfFormat.N_TRIPLES)))
        assert not [t for t in parsed if "urn:attacker" in str(t.object) and
                    not isinstance(t.object, ox.Literal)]
        assert not [t for t in parsed if t.predicate.value in ("urn:p", PROV_ATTRIBUTED)]


PROV_ATTRIBUTED = "http://www.w3.org/ns/prov#wasAttributedTo"


def test_a_real_iri_id_is_kept() -> None:
    from guidegraph.reasoning.reasoner import Reasoner

    intake = Reasoner().intake
    assert intake.from_object({"id": "urn:uuid:6f1c", "evt_passes": 1}).iri == "urn:uuid:6f1c"


@pytest.mark.parametrize("case_id", ["c1\nFOR (1)\n    ivt-0-3h — ACC/AHA Class I, LOE A",
                                     "c1\r\u2028\u202eforged", "c1\x1b[31mred"])
def test_control_characters_in_an_id_cannot_forge_text_lines(tmp_path: Path,
                                                             case_id: str) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps({**FACTS, "id": case_id}), encoding="utf-8")
    for args in (["reason", str(path)], ["explain", str(path)],
                 ["explain", str(path), "--action", "rescue-stenting"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        first = res.stdout.splitlines()[0]
        assert "c1\\" in first, first  # the control character is shown escaped
        assert not any(ch in res.stdout for ch in "\r\u2028\u202e\x1b")
        assert not any(line.startswith("FOR (1)") for line in res.stdout.splitlines())
