"""guidegraph audit, the audit log and guidegraph diff on real stores and guideline copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.audit.findings import audit
from guidegraph.cli import main
from guidegraph.knowledge.loading import Knowledge, read_parts
from guidegraph.provenance.runs import save_runs
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore
from guidegraph.store.log import check, read_log

ROOT = Path(__file__).parents[2]
GOLDEN = ROOT / "tests" / "golden" / "rescue-stenting" / "cases"
PRECEDENCE_LINE = "    gg:precedence rs:precedence-1, rs:precedence-2, rs:precedence-3 ;\n"
#: Golden cases whose for and against statements on rescue-stenting stand unordered once the
#: guideline's precedence rules are removed (with them, the against statements prevail): the
#: golden expectations that set a for statement aside by prohibition-over-indication.
UNORDERED = {"dnr-3-embolic-without-stenosis", "ind-2-stenosis-69-below-threshold",
             "stenosis-69-5-below-severe", "embolic-stenosis-49-both-do-not-rules",
             "embolic-stenosis-50-reserve-rule-only", "basilar-icad-stenosis-60-against",
             "gp2b3a-basilar-stenosis-60-not-severe", "icad-sign-fixed-stenosis-60-not-severe"}


#: The statements that carry the 6-hour window (within-6h): every statement for rescue
#: stenting but the basilar consensus, and the algorithm's steps after stenting.
WITHIN_6H = {"rs-summary", "rs-primary", "aha2015-salvage-adjunct", "ind-failed-passes",
             "ind-severe-stenosis", "ind-reocclusion", "ind-icad", "eso-principle-anterior",
             "alg-2-rescue-stenting", "alg-5-antiplatelet", "alg-6-reocclusion-monitoring"}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def without_precedence(target: Path) -> Path:
    """A copy of the rescue-stenting guideline whose precedence rules are removed."""
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", target)
    meta = target / "guideline.ttl"
    text = meta.read_text()
    assert PRECEDENCE_LINE in text
    meta.write_text(text.replace(PRECEDENCE_LINE, ""))
    return target


@pytest.fixture
def unordered_store(tmp_path: Path) -> Path:
    """A store with the precedence-free variant only and saved runs of every golden case."""
    path = tmp_path / "unordered"
    variant = without_precedence(tmp_path / "rescue-stenting")
    assert run("load", "--store", str(path), "--guideline", str(variant)).exit_code == 0
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


def direct_verdicts_on_retracted(knowledge: Knowledge) -> set[tuple[str, str]]:
    """(case, action) of every golden verdict one of whose deciding statements rests on a
    retracted citation itself, found from the in-memory results, not from the store."""
    from guidegraph.audit.findings import DependencyGraph

    retracted = set(DependencyGraph(knowledge).citations("retracted"))
    reasoner = Reasoner(knowledge)
    specs = {(s.guideline, s.id): s for s in reasoner.recommendations}
    out = set()
    for path in GOLDEN.iterdir():
        for case in reasoner.intake.read(path):
            for c in reasoner.reason(case).conclusions:
                if any(retracted & set(specs[(c.guideline, i)].rests_on) for i in c.decided_by):
                    out.add((case.id, c.action))
    return out


def test_audit_over_a_store_finds_runs_verdicts_and_stale_results(
        store_path: Path, tmp_path: Path) -> None:
    res = run("audit", "--store", str(store_path), "--format", "json")
    assert res.exit_code == 1  # the retracted citation is an error
    doc = json.loads(res.stdout)
    retracted = next(f for f in doc["findings"] if f["kind"] == "retracted-citation")
    runs = {a["id"] for a in retracted["affects"] if a["kind"] == "stored run"}
    assert "run of case ind-1-persistent-occlusion-3-passes" in runs
    assert "run of case elective-severe-stenosis-70" not in runs
    # Conflicts are verdict conflicts now: the shipped precedence rules order every pair.
    assert not [f for f in doc["findings"] if f["kind"] == "conflict-in-run"]
    # Verdicts resting on [2]: retracted = error, as for the retracted-citation finding.
    [verdicts] = [f for f in doc["findings"] if f["kind"] == "verdict-on-retracted-citation"]
    assert verdicts["severity"] == "error" and verdicts["subject"] == "[2]"
    assert verdicts["iri"] == retracted["iri"]
    direct = {(a["id"].removeprefix("run of case "), a["path"][1].split(" ")[1].rstrip(":"))
              for a in verdicts["affects"] if not a["path"][2].startswith("verdict ")}
    want = direct_verdicts_on_retracted(store_knowledge(store_path))
    assert direct == want and ("basilar-icad-consensus", "rescue-stenting") in want
    by_run = {}
    for a in verdicts["affects"]:
        by_run.setdefault(a["id"], []).append(a["path"])
    basilar = by_run["run of case basilar-icad-consensus"]
    assert ["run of case basilar-icad-consensus", "verdict rescue-stenting: for", "rs-primary",
            "[2]"] in basilar
    # a dependent action's verdict rests on [2] through the verdict it tests
    assert ["run of case basilar-icad-consensus", "verdict antiplatelet-therapy: for",
            "verdict rescue-stenting", "rs-primary", "[2]"] in basilar
    # ind-1 derived a statement resting only on [2], which gave its verdict no support
    assert "run of case ind-1-persistent-occlusion-3-passes" not in by_run
    n_runs, n_verdicts = len(by_run), len(verdicts["affects"])
    assert f"{n_verdicts} verdicts in {n_runs} stored runs rest on it" in verdicts["message"]
    assert not [f for f in doc["findings"] if f["kind"] == "stale-runs"]
    changed = tmp_path / "rescue-stenting"
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", changed)
    (changed / "criteria.ttl").write_text(
        (changed / "criteria.ttl").read_text().replace("gg:threshold 360 ;", "gg:threshold 300 ;"))
    assert run("load", "--store", str(store_path), "--guideline", str(changed)).exit_code == 0
    doc = json.loads(run("audit", "--store", str(store_path), "--format", "json").stdout)
    [stale] = [f for f in doc["findings"] if f["kind"] == "stale-runs"]
    assert len(stale["affects"]) == len(list(GOLDEN.iterdir()))


def store_knowledge(path: Path) -> Knowledge:
    store = EmbeddedStore(path)
    try:
        return versions.stored_knowledge(store)
    finally:
        del store


def test_a_reference_retracted_after_the_runs_is_found_under_their_verdicts(
        store_path: Path, tmp_path: Path) -> None:
    """The runs recorded no dependency on [1] (active when they ran): the current guideline's
    citations show which of their verdicts rest on it."""
    changed = tmp_path / "rescue-stenting"
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", changed)
    meta = changed / "guideline.ttl"
    text = meta.read_text()
    active = "gg:referenceNumber 1 ;\n    gg:citationStatus gg:active ;"
    assert active in text
    meta.write_text(text.replace(active, active.replace("gg:active", "gg:retracted")))
    assert run("load", "--store", str(store_path), "--guideline", str(changed)).exit_code == 0
    doc = json.loads(run("audit", "--store", str(store_path), "--format", "json").stdout)
    found = {f["subject"]: f for f in doc["findings"]
             if f["kind"] == "verdict-on-retracted-citation"}
    assert set(found) == {"[1]", "[2]"}
    runs = {a["id"] for a in found["[1]"]["affects"]}
    assert "run of case basilar-icad-consensus" in runs
    assert any(f["kind"] == "stale-runs" for f in doc["findings"])


def test_audit_text_and_turtle(store_path: Path) -> None:
    text = run("audit", "--store", str(store_path))
    assert "[ERROR] retracted-citation: retracted reference: [2] RETRACTED" in text.stdout
    assert "[ERROR] verdict-on-retracted-citation: retracted reference: [2] RETRACTED" in (
        text.stdout)
    assert "verdict rescue-stenting: for -> rs-primary -> [2]" in text.stdout
    assert text.stdout.count("[WARNING] unresolved-citation") == 4
    turtle = run("audit", "--store", str(store_path), "--format", "turtle")
    assert "gg:AuditRun" in turtle.stdout and "gg:AuditFinding" in turtle.stdout


def test_audit_reports_no_conflict_in_the_golden_case_files(tmp_path: Path) -> None:
    EmbeddedStore(tmp_path / "empty").close()  # a store that exists and holds nothing
    res = run("audit", "--store", str(tmp_path / "empty"), "--cases", str(GOLDEN),
              "--format", "json")
    kinds = [f for f in json.loads(res.stdout)["findings"] if f["kind"] == "conflict-in-case"]
    assert kinds == []  # for and against pairs exist, but the precedence rules order them
    assert "holds no guidelines; auditing the shipped files" in res.stderr


def test_audit_reports_verdict_conflicts_in_runs_and_cases(unordered_store: Path) -> None:
    """Without precedence rules, for and against statements stand unordered: a conflict."""
    res = run("audit", "--store", str(unordered_store), "--cases", str(GOLDEN),
              "--format", "json")
    doc = json.loads(res.stdout)
    in_runs = {f["subject"].removeprefix("run of case "): f for f in doc["findings"]
               if f["kind"] == "conflict-in-run"}
    in_cases = {f["subject"]: f for f in doc["findings"] if f["kind"] == "conflict-in-case"}
    assert set(in_runs) >= UNORDERED and set(in_cases) == set(in_runs)
    # the oracle: every case whose in-memory verdict is a conflict, and no other
    reasoner = Reasoner(store_knowledge(unordered_store))
    expected = {c.id for p in GOLDEN.iterdir() for c in reasoner.intake.read(p)
                if reasoner.reason(c).conflicts}
    assert set(in_runs) == expected
    finding = in_runs["dnr-3-embolic-without-stenosis"]
    assert finding["severity"] == "warning"
    # the deciding statements on each side; ind-failed-passes rests only on the retracted
    # reference and gives no support, so it is not part of the conflict
    assert finding["message"] == (
        "stored run for case dnr-3-embolic-without-stenosis: the verdict on "
        "rescue-stenting is a conflict: for (aha2015-salvage-adjunct, rs-primary, rs-summary) "
        "and against (acute-reserve-for-severe-stenosis, pitfall-embolic-no-stenosis) "
        "both stand and no precedence rule of the guideline orders them")
    assert "ind-failed-passes" not in in_cases["dnr-3-embolic-without-stenosis"]["message"]
    # a conflict verdict rests on [2] through rs-primary, like any other verdict
    [verdicts] = [f for f in doc["findings"] if f["kind"] == "verdict-on-retracted-citation"]
    assert ["run of case dnr-3-embolic-without-stenosis",
            "verdict rescue-stenting: conflict", "rs-primary", "[2]"] in [
        a["path"] for a in verdicts["affects"]]


def test_log_records_loads_and_runs(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    entries = read_log(store)
    assert entries[0].action == "load-ontology" and entries[1].action == "load-guideline"
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    runs = [e for e in entries if e.action == "reason"]
    assert len(runs) == len(list(GOLDEN.iterdir()))
    assert all(e.actor and e.time and e.after.startswith("sha256:") for e in entries)
    assert check(store).problems == []


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
    problems = check(store).problems
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
    # every statement that carries the 6-hour window changes with it
    changes = {c["id"]: c for c in doc["recommendations"]}
    assert set(changes) == WITHIN_6H
    for change in changes.values():
        assert change["status"] == "changed"
        assert change["fields"]["criteria"]["old"] != change["fields"]["criteria"]["new"]
        assert "within-6h: minutes_since_onset <= 300" in change["fields"]["criteria"]["new"]
    by_case = {(o["source"], o["case"].split(" ")[0]): o for o in doc["outcomes"]}
    # the golden cases decided between 301 and 360 minutes
    late = {"edge-within-6h-360-minutes", "basilar-360-minutes-icad-severe-for"}
    assert set(by_case) == {(source, case) for source in ("case file", "stored run")
                            for case in late}
    for source in ("case file", "stored run"):
        edge = by_case[(source, "edge-within-6h-360-minutes")]
        assert edge["no_longer_derived"] == {rec: "for" for rec in WITHIN_6H - {
            "ind-reocclusion"}}
        assert edge["now_derived"] == {}
        # no statement on rescue stenting applies any more at 360 minutes, and the steps
        # after stenting no longer follow
        assert {(v["action"], v["old"], v["new"]) for v in edge["verdict_changed"]} == {
            ("rescue-stenting", "for", None), ("antiplatelet-therapy", "for", "uncertain"),
            ("reocclusion-monitoring", "for", None)}
        basilar = by_case[(source, "basilar-360-minutes-icad-severe-for")]
        assert basilar["no_longer_derived"] == {rec: "for" for rec in WITHIN_6H - {
            "ind-reocclusion", "eso-principle-anterior"}}
        # the basilar consensus has no time window and still stands: the verdict on rescue
        # stenting does not change, and diff does not say so
        assert {(v["action"], v["old"], v["new"]) for v in basilar["verdict_changed"]} == {
            ("antiplatelet-therapy", "for", "uncertain"), ("reocclusion-monitoring", "for", None)}
    assert doc["verdicts_changed"] == 10
    assert doc["cases_checked"] == len(list(GOLDEN.iterdir()))
    assert doc["runs_checked"] == len(list(GOLDEN.iterdir()))
    text = run("diff", str(ROOT / "guidelines" / "rescue-stenting"), str(changed))
    assert "within-6h: minutes_since_onset <= 360" in text.stdout


def test_diff_reports_verdict_changes_case_by_case(tmp_path: Path, store_path: Path
                                                   ) -> None:
    """Removing the precedence rules changes no recommendation, but verdicts: the against
    statements no longer prevail, so pairs of standing for and against become conflicts."""
    variant = without_precedence(tmp_path / "rescue-stenting")
    res = run("diff", str(ROOT / "guidelines" / "rescue-stenting"), str(variant),
              "--cases", str(GOLDEN), "--store", str(store_path), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["recommendations"] == []
    changed = {(o["source"], o["case"].split(" ")[0]): o["verdict_changed"]
               for o in doc["outcomes"]}
    reasoner = Reasoner(Knowledge.from_parts(read_parts([variant])))
    expected = {c.id for p in GOLDEN.iterdir() for c in reasoner.intake.read(p)
                if reasoner.reason(c).conflicts}
    assert expected >= UNORDERED
    for source in ("case file", "stored run"):
        conflicts = {case for (src, case), vs in changed.items() if src == source
                     for v in vs if v["new"] == "conflict"}
        assert conflicts == expected
    [change] = changed[("case file", "dnr-3-embolic-without-stenosis")]
    assert change == {
        "guideline": "rescue-stenting", "action": "rescue-stenting",
        "old": "against", "new": "conflict",
        "old_decided_by": ["acute-reserve-for-severe-stenosis", "pitfall-embolic-no-stenosis"],
        "new_decided_by": ["aha2015-salvage-adjunct", "acute-reserve-for-severe-stenosis",
                           "pitfall-embolic-no-stenosis", "rs-primary", "rs-summary"],
        "old_missing_facts": [], "new_missing_facts": []}
    # the recommendation outcomes themselves do not change
    outcome = next(o for o in doc["outcomes"]
                   if o["case"] == "dnr-3-embolic-without-stenosis")
    assert outcome["now_derived"] == outcome["no_longer_derived"] == {}
    assert doc["verdicts_changed"] == sum(len(vs) for vs in changed.values())
    text = run("diff", str(ROOT / "guidelines" / "rescue-stenting"), str(variant),
               "--cases", str(GOLDEN / "dnr-3-embolic-without-stenosis.json"))
    assert text.exit_code == 0, text.output
    assert "Verdicts changed: 1 in 1 of 1 case and 0 stored runs" in text.stdout
    assert ("      verdict:           rescue-stenting [rescue-stenting]: against (decided by "
            "acute-reserve-for-severe-stenosis, pitfall-embolic-no-stenosis)"
            " -> conflict (decided by aha2015-salvage-adjunct, acute-reserve-for-severe-stenosis, "
            "pitfall-embolic-no-stenosis +2 more)") in text.stdout


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
    versions.load_parts(store, read_parts())
    reasoner = Reasoner(versions.stored_knowledge(store))
    case = reasoner.intake.from_object({"id": "x", "evt_passes": 1, "tici": "3"})
    before = len(read_log(store))
    save_runs(store, reasoner, [case], [reasoner.reason(case)])
    assert len(read_log(store)) == before + 1 and check(store).problems == []
