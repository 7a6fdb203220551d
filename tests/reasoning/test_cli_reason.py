"""The reason and explain commands: formats, exit codes, stdout/stderr discipline."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from guidegraph.cli import main

ROOT = Path(__file__).parents[2]
EXAMPLE = str(ROOT / "examples" / "basilar-icad-failed-evt.json")
FIXTURES = Path(__file__).parents[1] / "intake" / "fixtures"


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


def test_reason_text_groups_by_direction() -> None:
    res = run("reason", EXAMPLE)
    assert res.exit_code == 0, res.output
    for heading in ("DECISIONS (", "STATEMENTS FOR (", "STATEMENTS AGAINST (",
                    "STATEMENTS UNCERTAIN (", "STATEMENTS UNDECIDED (", "Provenance: "):
        assert heading in res.output
    assert "eso2024-bao-rescue — expert consensus (10/10)" in res.output


def test_reason_json_matches_contract() -> None:
    res = run("reason", EXAMPLE, "--format", "json")
    assert res.exit_code == 0
    doc = json.loads(res.output)
    assert set(doc) == {"case", "guidelines", "recommendations", "not_applicable",
                        "missing_facts", "conclusions", "conflicts", "provenance"}
    for c in doc["conclusions"]:
        assert set(c) == {"action", "direction", "decided_by", "strength", "guideline",
                          "overridden", "pending", "missing_facts", "warnings"}
    rec = next(r for r in doc["recommendations"] if r["id"] == "aha2015-salvage-adjunct")
    assert {k: rec[k] for k in ("action", "direction", "strength", "evidence", "grading")} == {
        "action": "rescue-stenting", "direction": "for", "strength": "IIb", "evidence": "B-R",
        "grading": "ACC/AHA"}
    assert rec["criteria"][0].keys() >= {"criterion", "status", "facts"}


def test_reason_turtle_is_prov() -> None:
    res = run("reason", EXAMPLE, "--format", "turtle")
    assert res.exit_code == 0
    assert "gg:ReasoningRun" in res.output and "prov:qualifiedDerivation" in res.output


def test_bad_single_case_exits_2_with_nothing_on_stdout() -> None:
    res = CliRunner().invoke(main, ["reason", "-"], input='{"id": "x", "tici": "4"}')
    assert res.exit_code == 2
    assert res.stdout == ""
    assert "case 'x': key 'tici': value \"4\" is not allowed" in res.stderr


def test_batch_with_a_bad_case_runs_the_others_and_exits_2() -> None:
    res = run("reason", str(FIXTURES / "batch-one-bad.json"), "--format", "json")
    assert res.exit_code == 2
    assert [d["case"].rsplit("/", 1)[-1] for d in json.loads(res.stdout)] == ["b-1", "b-3"]
    assert "case 'b-2'" in res.stderr


def test_missing_input_file() -> None:
    res = run("reason", "no-such-case.json")
    assert res.exit_code == 2 and res.stdout == ""
    assert "no-such-case.json: no such file or folder" in res.stderr


def test_bad_guideline_path_is_a_configuration_error() -> None:
    res = run("reason", EXAMPLE, "--guideline", str(FIXTURES / "broken.ttl"))
    assert res.exit_code == 2 and res.stdout == ""
    assert "broken.ttl: not valid RDF" in res.stderr


def test_sparql_engine_gives_the_same_json() -> None:
    a = run("reason", EXAMPLE, "--format", "json")
    b = run("reason", EXAMPLE, "--format", "json", "--engine", "sparql")
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_explain_why_not_for_failed_thrombolysis() -> None:
    res = run("explain", str(ROOT / "examples" / "failed-thrombolysis-no-evt.json"),
              "--rec", "rs-primary")
    assert res.exit_code == 0
    # outside the guideline's population: one line says why, naming the missing pass
    assert ("Guideline rescue-stenting: not applicable to this case: unmet: at least one "
            "thrombectomy pass performed (evt_passes=0)") in res.output
    assert "Scope note: rescue-stenting: Question asks about failed thrombolysis" in res.output


def test_explain_from_saved_provenance(tmp_path: Path) -> None:
    saved = tmp_path / "run.ttl"
    saved.write_text(run("reason", EXAMPLE, "--format", "turtle").stdout)
    live = run("explain", EXAMPLE)
    stored = run("explain", "--provenance", str(saved))
    assert stored.exit_code == 0 and stored.output == live.output
    assert "why:" in live.output and "why not:" in live.output


def test_explain_unknown_rec() -> None:
    res = run("explain", EXAMPLE, "--rec", "no-such-rec")
    assert res.exit_code == 2 and "--rec 'no-such-rec': no such recommendation" in res.stderr


# -- standard input: JSON, NDJSON and Turtle, told apart by their content ---------------------
def _ids(out: str) -> list[str]:
    return [json.loads(line)["case"].rsplit("/", 1)[-1] for line in out.splitlines()]


def test_ndjson_on_stdin() -> None:
    res = run("reason", "-", "--format", "ndjson",
              stdin='{"id": "a", "evt_passes": 1}\n\n{"id": "b", "evt_passes": 3}\n')
    assert res.exit_code == 0, res.output
    assert _ids(res.stdout) == ["a", "b"]


def test_pretty_json_and_a_json_list_on_stdin() -> None:
    res = run("reason", "-", "--format", "ndjson", stdin=Path(EXAMPLE).read_text())
    assert res.exit_code == 0 and _ids(res.stdout) == ["example-basilar-icad"]
    res = run("reason", "-", "--format", "ndjson",
              stdin='[{"id": "a", "evt_passes": 1},\n {"id": "b", "evt_passes": 3}]')
    assert res.exit_code == 0 and _ids(res.stdout) == ["a", "b"]


def test_turtle_on_stdin() -> None:
    res = run("reason", "-", "--format", "ndjson",
              stdin=(ROOT / "examples" / "tandem-lesion.ttl").read_text())
    assert res.exit_code == 0, res.output
    assert _ids(res.stdout) == ["example-tandem"]


def test_a_bad_ndjson_line_on_stdin_names_its_line() -> None:
    res = run("reason", "-", "--format", "ndjson",
              stdin='{"id": "a", "evt_passes": 1}\n{"id": "b", "evt_passes": }\n')
    assert res.exit_code == 2
    assert "<stdin>:2: not valid JSON" in res.stderr
    assert _ids(res.stdout) == ["a"]
