"""guidegraph audit, the audit log and guidegraph diff on real stores and guideline copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.audit import audit
from guidegraph.audit_log import read_log, verify
from guidegraph.cli import main
from guidegraph.knowledge import Knowledge, read_parts
from guidegraph.reasoner import Reasoner
from guidegraph.runs import save_runs
from guidegraph.store import EmbeddedStore

ROOT = Path(__file__).parents[2]
GOLDEN = ROOT / "tests" / "golden" / "cases"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store with the shipped knowledge and saved runs of every golden case."""
    path = tmp_path / "store"
    assert run("load", "--store", str(path)).exit_code == 0
    saved = run("reason", str(GOLDEN), "--save", "--store", str(path), "--format", "ndjson")
    assert saved.exit_code == 0, saved.output
    return path


def test_audit_names_the_retracted_reference_and_what_rests_on_it() -> None:
    report = audit(Knowledge.load())
    [retracted] = [f for f in report.findings if f.kind == "retracted-citation"]
    assert retracted.severity == "error" and retracted.subject == "[2]"
    by_kind = {}
    for a in retracted.affects:
        by_kind.setdefault(a.kind, set()).add(a.id)
    assert by_kind["evidence statement"] == {"ev-mortality", "ev-procedural-complications"}
    assert by_kind["recommendation"] == {"ind-failed-passes", "alg-1-angiographic-assessment",
                                         "rs-primary"}
    assert by_kind["algorithm step"] == {"step-1"}
    path = next(a.path for a in retracted.affects if a.id == "rs-primary")
    assert path[0] == "rs-primary" and path[-1] == "[2]" and path[1].startswith("ev-")
    unresolved = sorted(f.subject for f in report.findings if f.kind == "unresolved-citation")
    assert unresolved == ["[3]", "[4]", "[5]", "[6]"]
    assert report.failed


def test_audit_over_a_store_finds_runs_conflicts_and_stale_results(
        store_path: Path, tmp_path: Path) -> None:
    res = run("audit", "--store", str(store_path), "--format", "json")
    assert res.exit_code == 1  # the retracted citation is an error
    doc = json.loads(res.stdout)
    retracted = next(f for f in doc["findings"] if f["kind"] == "retracted-citation")
    runs = {a["id"] for a in retracted["affects"] if a["kind"] == "stored run"}
    assert "run of case ind-1-persistent-occlusion-3-passes" in runs
    assert "run of case elective-severe-stenosis-70" not in runs
    conflicts = {f["subject"] for f in doc["findings"] if f["kind"] == "conflict-in-run"}
    assert conflicts == {"run of case conflict-embolic-late-persistent-occlusion",
                         "run of case dnr-2-beyond-6h-361-minutes",
                         "run of case dnr-3-embolic-without-stenosis",
                         "run of case ind-2-stenosis-69-below-threshold"}
    assert not [f for f in doc["findings"] if f["kind"] == "stale-runs"]
    changed = tmp_path / "rescue-stenting"
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", changed)
    (changed / "criteria.ttl").write_text(
        (changed / "criteria.ttl").read_text().replace("gg:threshold 360 ;", "gg:threshold 300 ;"))
    assert run("load", "--store", str(store_path), "--guideline", str(changed)).exit_code == 0
    doc = json.loads(run("audit", "--store", str(store_path), "--format", "json").stdout)
    [stale] = [f for f in doc["findings"] if f["kind"] == "stale-runs"]
    assert len(stale["affects"]) == len(list(GOLDEN.iterdir()))


def test_audit_text_and_turtle(store_path: Path) -> None:
    text = run("audit", "--store", str(store_path))
    assert "[ERROR] retracted-citation: retracted reference: [2] RETRACTED" in text.stdout
    assert text.stdout.count("[WARNING] unresolved-citation") == 4
    turtle = run("audit", "--store", str(store_path), "--format", "turtle")
    assert "gg:AuditRun" in turtle.stdout and "gg:AuditFinding" in turtle.stdout


def test_audit_reports_conflicts_in_case_files(tmp_path: Path) -> None:
    res = run("audit", "--store", str(tmp_path / "empty"), "--cases", str(GOLDEN),
              "--format", "json")
    kinds = [f for f in json.loads(res.stdout)["findings"] if f["kind"] == "conflict-in-case"]
    assert {f["subject"] for f in kinds} >= {"conflict-embolic-late-persistent-occlusion"}
    assert "holds no guidelines; auditing the shipped files" in res.stderr


def test_log_records_loads_and_runs(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    entries = read_log(store)
    assert entries[0].action == "load-ontology" and entries[1].action == "load-guideline"
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    runs = [e for e in entries if e.action == "reason"]
    assert len(runs) == len(list(GOLDEN.iterdir()))
    assert all(e.actor and e.time and e.after.startswith("sha256:") for e in entries)
    assert verify(store) == []


@pytest.mark.parametrize(("tamper", "expected"), [
    ("""DELETE { GRAPH ?g { ?e gg:actor ?a } } INSERT { GRAPH ?g { ?e gg:actor "mallory" } }
        WHERE { GRAPH ?g { ?e gg:actor ?a ; gg:sequence 2 } }""",
     "entry 2 (load-guideline of https://w3id.org/guidegraph/guideline/"),
    ("""DELETE { GRAPH ?g { ?e ?p ?o } } WHERE { GRAPH ?g { ?e gg:sequence 3 ; ?p ?o } }""",
     "entry 3 is missing: deleted from the log"),
    ("""DELETE { GRAPH ?g { ?e ?p ?o } } WHERE { GRAPH ?g { ?e gg:sequence ?n ; ?p ?o .
        { SELECT (MAX(?m) AS ?n) WHERE { GRAPH ?h { ?x gg:sequence ?m } } } } }""",
     "which is missing: the log was truncated or an entry deleted"),
])
def test_tampering_with_the_log_is_detected(store_path: Path, tamper: str, expected: str
                                            ) -> None:
    store = EmbeddedStore(store_path)
    store.update("PREFIX gg: <https://w3id.org/guidegraph/ontology#> " + tamper)
    problems = verify(store)
    assert any(expected in p for p in problems), problems
    del store
    res = run("audit", "--store", str(store_path), "--verify-log")
    assert res.exit_code == 1 and expected in res.stdout


def test_verify_log_cli_intact(store_path: Path) -> None:
    res = run("audit", "--store", str(store_path), "--verify-log")
    assert res.exit_code == 0 and "intact" in res.stdout


def test_diff_reports_a_changed_threshold_and_the_cases_it_changes(
        tmp_path: Path, store_path: Path) -> None:
    changed = tmp_path / "rescue-stenting"
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", changed)
    criteria = changed / "criteria.ttl"
    text = criteria.read_text()
    criteria.write_text(text.replace(
        "gg:fact stroke:minutesSinceOnset ; gg:comparator gg:le ; gg:threshold 360",
        "gg:fact stroke:minutesSinceOnset ; gg:comparator gg:le ; gg:threshold 300"))
    res = run("diff", str(ROOT / "guidelines" / "rescue-stenting"), str(changed),
              "--cases", str(GOLDEN), "--store", str(store_path), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    [change] = doc["recommendations"]
    assert change["id"] == "aha2015-salvage-adjunct" and change["status"] == "changed"
    assert change["fields"]["criteria"]["old"] != change["fields"]["criteria"]["new"]
    assert "within-6h: minutes_since_onset <= 300" in change["fields"]["criteria"]["new"]
    by_case = {(o["source"], o["case"].split(" ")[0]): o for o in doc["outcomes"]}
    assert set(by_case) == {("case file", "edge-within-6h-360-minutes"),
                            ("stored run", "edge-within-6h-360-minutes")}
    assert by_case[("case file", "edge-within-6h-360-minutes")]["no_longer_derived"] == {
        "aha2015-salvage-adjunct": "for"}
    assert doc["cases_checked"] == len(list(GOLDEN.iterdir()))
    assert doc["runs_checked"] == len(list(GOLDEN.iterdir()))
    text = run("diff", str(ROOT / "guidelines" / "rescue-stenting"), str(changed))
    assert "within-6h: minutes_since_onset <= 360" in text.stdout


def test_diff_of_a_version_with_itself_is_empty() -> None:
    res = run("diff", str(ROOT / "guidelines" / "rescue-stenting"),
              str(ROOT / "guidelines" / "rescue-stenting"), "--format", "json")
    doc = json.loads(res.stdout)
    assert doc["recommendations"] == [] and doc["outcomes"] == []


def test_diff_refuses_unknown_versions(tmp_path: Path) -> None:
    res = run("diff", "no-such-folder", str(ROOT / "guidelines" / "rescue-stenting"))
    assert res.exit_code == 2 and "no-such-folder: no such file or folder" in res.stderr


def test_saved_runs_write_the_log_in_the_same_transaction(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.load_parts(read_parts())
    reasoner = Reasoner(store.knowledge())
    case = reasoner.intake.from_object({"id": "x", "evt_passes": 1, "tici": "3"})
    before = len(read_log(store))
    save_runs(store, reasoner, [case], [reasoner.reason(case)])
    assert len(read_log(store)) == before + 1 and verify(store) == []
