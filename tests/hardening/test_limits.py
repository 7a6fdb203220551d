"""Size limits: an oversized case file, or an RDF case document with too many triples, is
refused early with a message naming the limit; the limits are per case file / document,
so a batch list of many small cases is still accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.errors import CaseInputError
from guidegraph.intake.cases import (
    MAX_BYTES_ENV,
    MAX_CASE_BYTES,
    MAX_CASE_TRIPLES,
    MAX_TRIPLES_ENV,
    Case,
    max_case_bytes,
    max_case_triples,
    parse_rdf,
)
from guidegraph.reasoning.reasoner import Reasoner

CASE_BASE = "https://w3id.org/guidegraph/case/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def test_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_BYTES_ENV, raising=False)
    monkeypatch.delenv(MAX_TRIPLES_ENV, raising=False)
    assert max_case_bytes() == MAX_CASE_BYTES == 16 * 1024 * 1024
    assert max_case_triples() == MAX_CASE_TRIPLES == 10_000


def test_oversized_case_file_refused_before_reading(tmp_path: Path, hard_reasoner: Reasoner,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_BYTES_ENV, "1000")
    case = tmp_path / "big.json"
    case.write_text(json.dumps({"id": "big", "setting": "acute", "pad": "x" * 2000}))
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("file was read"))
    [error] = list(hard_reasoner.intake.read(case))
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert isinstance(error, CaseInputError)
    assert "the limit is 1000 bytes" in str(error) and MAX_BYTES_ENV in str(error)
    result = CliRunner().invoke(main, ["reason", str(case)])
    assert result.exit_code == 2 and "the limit is 1000 bytes" in result.output


@pytest.mark.parametrize("suffix", [".ttl", ".json", ".jsonld", ".ndjson"])
def test_oversized_bytes_refused_for_every_format(suffix: str, hard_reasoner: Reasoner,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_BYTES_ENV, "100")
    [error] = list(hard_reasoner.intake.read_bytes(b" " * 101, suffix, source="stdin"))
    assert isinstance(error, CaseInputError) and "the limit is 100 bytes" in str(error)


def _turtle_case(n_triples: int) -> bytes:
    """One case node plus n-1 statements about other nodes: the count is what matters.
    Written as N-Triples, which is also Turtle."""
    lines = [f"<{CASE_BASE}t> <{RDF_TYPE}> <https://w3id.org/guidegraph/ontology#Case> ."]
    lines += [f'<http://example.org/s{i}> <http://example.org/p> "{i}" .'
              for i in range(n_triples - 1)]
    return "\n".join(lines).encode()


def test_too_many_triples_refused_early(hard_reasoner: Reasoner,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_TRIPLES_ENV, raising=False)
    data = _turtle_case(200_000)
    # Count the triples the parser hands over: refusing early means stopping at the limit,
    # not reading the whole document first.
    import guidegraph.intake.cases as intake_module

    handed: list[int] = [0]
    real_parse = intake_module.ox.parse

    def counting_parse(*args, **kwargs):
        for quad in real_parse(*args, **kwargs):
            handed[0] += 1
            yield quad

    monkeypatch.setattr(intake_module.ox, "parse", counting_parse)
    with pytest.raises(CaseInputError) as info:
        hard_reasoner.intake.from_rdf(data, ox.RdfFormat.TURTLE)
    monkeypatch.setattr(intake_module.ox, "parse", real_parse)
    assert "the limit is 10000 triples per case document" in str(info.value)
    assert MAX_TRIPLES_ENV in str(info.value)
    assert handed[0] == 10_001, f"read {handed[0]} triples before refusing: not early"
    assert len(parse_rdf(_turtle_case(10_000), ox.RdfFormat.TURTLE)) == 10_000


def test_triple_limit_env_and_formats(hard_reasoner: Reasoner, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_TRIPLES_ENV, "5")
    ok = (f"<{CASE_BASE}t> <https://w3id.org/guidegraph/vocab/stroke#evtPasses> "
          f'"1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n').encode()
    [case] = hard_reasoner.intake.from_rdf(ok, ox.RdfFormat.N_TRIPLES)
    assert isinstance(case, Case)
    for fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES):
        with pytest.raises(CaseInputError, match="the limit is 5 triples"):
            hard_reasoner.intake.from_rdf(_turtle_case(6), fmt)
    doc = {"@context": {"p": "http://example.org/p"}, "@id": f"{CASE_BASE}j",
           "p": list(range(10))}
    with pytest.raises(CaseInputError, match="the limit is 5 triples"):
        hard_reasoner.intake.from_object(doc)
    path = tmp_path / "many.ttl"
    path.write_bytes(_turtle_case(6))
    result = CliRunner().invoke(main, ["reason", str(path)], env={MAX_TRIPLES_ENV: "5"})
    assert result.exit_code == 2 and "the limit is 5 triples" in result.output


def test_bad_limit_setting_is_a_clear_error(hard_reasoner: Reasoner,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    [error] = list(hard_reasoner.intake.read_bytes(b"{}", ".json", source="x"))
    assert isinstance(error, CaseInputError) and MAX_BYTES_ENV in str(error)


def test_batch_of_many_cases_is_accepted(tmp_path: Path, hard_reasoner: Reasoner,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The triple limit is per case document: a plain JSON list whose cases together far
    exceed it (here 3,000 cases, about 20,000 triples with the limit at 1,000) is accepted,
    as long as the file is under the byte limit."""
    monkeypatch.setenv(MAX_TRIPLES_ENV, "1000")
    cases = [{"id": f"batch-{i}", "setting": "acute", "minutes_since_onset": i % 600,
              "evt_passes": i % 5, "ivt_given": bool(i % 2), "tici": "2b",
              "occlusion_site": "M1"} for i in range(3000)]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(cases))
    assert path.stat().st_size < max_case_bytes()
    items = list(hard_reasoner.intake.read(path))
    assert len(items) == 3000 and all(isinstance(i, Case) for i in items)
    triples = sum(len(hard_reasoner.intake.triples(c)) for c in items)
    assert triples > 10 * 1000
