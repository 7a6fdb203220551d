"""The audit page of `guidegraph serve`, driven in headless Chromium (Debian's package) with
Playwright, over a store holding the shipped knowledge and saved runs; a screenshot of each
page is kept under tests/artifacts/."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Server, clean_env, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).parents[2]
GOLDEN = ROOT / "tests" / "golden" / "rescue-stenting" / "cases"
EXPECTED = ROOT / "tests" / "golden" / "rescue-stenting" / "expected"
ARTIFACTS = ROOT / "tests" / "artifacts"
CASES = ["ind-1-persistent-occlusion-3-passes", "dnr-1-reperfused-tici-3",
         "missing-facts-only-passes", "dnr-3-embolic-without-stenosis"]
BULK = 4  # with the golden runs, 8 runs: two pages of the run table at ?per=5
RUNS = BULK + len(CASES)
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package "
                "(apt-get install chromium) to run the audit page test",
                allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is missing: pip install -e '.[test]'")


def guidegraph(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "guidegraph", *args], capture_output=True,
                          text=True, env=clean_env())
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shipped knowledge; generated runs first, then a few golden cases' runs (newest)."""
    base = tmp_path_factory.mktemp("audit-page")
    path = base / "store"
    guidegraph("load", "--store", str(path))
    bulk = base / "bulk.ndjson"
    bulk.write_text("".join(json.dumps({
        "id": f"bulk-{i:03}", "evt_passes": i % 5, "tici": ["0", "2a", "2b", "3"][i % 4],
        "minutes_since_onset": 90 + 7 * i, "stenosis_percent": (i * 9) % 100}) + "\n"
        for i in range(BULK)))
    guidegraph("reason", str(bulk), "--save", "--store", str(path), "--format", "ndjson")
    guidegraph("reason", *(str(GOLDEN / f"{c}.json") for c in CASES), "--save", "--store",
               str(path), "--format", "ndjson")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def serving(store: Path, name: str) -> Server:
    return start_server(store, store.parent / f"{name}.log")


def golden_verdict(case: str, action: str, guideline: str = "rescue-stenting") -> dict:
    """A verdict as the golden expectations of the case state it."""
    doc = json.loads((EXPECTED / f"{case}.expect.json").read_text(encoding="utf-8"))
    return doc["conclusions"][f"{guideline}/{action}"]


def before(page: object, first: str, second: str) -> bool:
    """Whether the element matching ``first`` comes before ``second`` in the document."""
    return page.evaluate(
        "([a, b]) => !!(document.querySelector(a).compareDocumentPosition("
        "document.querySelector(b)) & Node.DOCUMENT_POSITION_FOLLOWING)", [first, second])


def shot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / name
    page.screenshot(path=str(out), full_page=True)
    assert out.read_bytes().startswith(b"\x89PNG")
    return out


def test_audit_page_in_chromium(store: Path, browser: object, tmp_path: Path) -> None:
    server = serving(store, "first")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url + "/audit")
        assert page.title() == "guidegraph audit"
        # the retracted reference, named, with what rests on it
        findings = page.locator("#findings").inner_text()
        assert "retracted-citation" in findings
        assert "RETRACTED: Rescue intracranial stenting in acute ischemic stroke" in findings
        assert "ind-failed-passes" in findings and "step-1" in findings
        assert "run of case ind-1-persistent-occlusion-3-passes" in page.locator(
            "#findings").text_content()  # stored runs: listed, folded when many
        # references 3-6 of the rescue-stenting guideline are unresolved
        rows = page.locator("#citations tbody tr.unresolved")
        unresolved = [rows.nth(i).locator("td.num").first.inner_text()
                      for i in range(rows.count())]
        assert unresolved == ["[3]", "[4]", "[5]", "[6]"]
        assert page.locator("#citations tr.unresolved").first.inner_text().count(
            "not in reference list") == 1
        retracted = page.locator("#citations tr.retracted")
        assert retracted.count() == 1 and "[2]" in retracted.inner_text()
        assert "intact" in page.locator("#log").inner_text()
        # stored runs: newest first, the golden cases on page 1 of 2, nothing stale yet
        runs = page.locator("#runs").inner_text()
        for case in CASES:
            assert case in runs
        assert f"1–{RUNS} of {RUNS}" in runs and page.locator("#runs nav.pages").count() == 0
        assert page.locator("#runs tr.stale").count() == 0
        # each run with a compact summary of its stored verdicts
        # do-not statements prevail over the indications that also apply to this case
        set_aside_case = "dnr-3-embolic-without-stenosis"
        want = golden_verdict(set_aside_case, "rescue-stenting")["verdict"]
        summary = page.locator("#runs tbody tr", has_text=set_aside_case).locator(
            "td.verdicts").inner_text()
        assert f"rescue-stenting: {want}" in summary
        missing_only = page.locator("#runs tbody tr", has_text="missing-facts-only-passes")
        assert "undecided" in missing_only.locator("td.verdicts").inner_text()
        assert missing_only.locator("td.verdicts .v-for, td.verdicts .v-against").count() == 0
        # paginated (50 a page by default; ?per= sets it)
        page.goto(server.url + "/audit?per=5")
        assert f"1–5 of {RUNS}" in page.locator("#runs").inner_text()
        assert page.locator("#runs tbody tr").count() == 5
        page.locator("#runs nav.pages a", has_text="2").click()
        assert f"6–{RUNS} of {RUNS}" in page.locator("#runs").inner_text()
        assert page.locator("#runs tbody tr").count() == RUNS - 5
        assert "bulk-" in page.locator("#runs tbody").inner_text()
        page.close()
    finally:
        stop_server(server)

    # A changed copy of the guideline becomes the current version: every run is now stale.
    changed = tmp_path / "rescue-stenting"
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", changed)
    criteria = changed / "criteria.ttl"
    text = criteria.read_text()
    assert "gg:threshold 360 ;" in text
    criteria.write_text(text.replace("gg:threshold 360 ;", "gg:threshold 300 ;"))
    guidegraph("load", "--store", str(store), "--guideline", str(changed))

    server = serving(store, "second")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url + "/audit")
        versions = page.locator("#versions").inner_text()
        assert "superseded" in versions and "current" in versions
        assert "stale-runs" in page.locator("#findings").inner_text()
        stale = page.locator("#runs tr.stale")
        assert stale.count() == RUNS  # every run used the superseded version
        assert "stale" in stale.first.inner_text()
        assert f"{RUNS} stale" in page.locator("header").inner_text()
        shot(page, "audit-page.png")

        # Through to one run: why / why-not, grade, warnings, evidence and citations.
        page.locator("#runs a", has_text="ind-1-persistent-occlusion-3-passes").click()
        page.wait_for_url(re.compile(r"/audit/run\?iri="))
        assert "Run of case ind-1-persistent-occlusion-3-passes" in page.locator(
            "h1").inner_text()
        assert "no longer current" in page.locator("header").inner_text()
        card = page.locator("#rec-ind-failed-passes")
        why = card.inner_text()
        assert "applies" in why and card.locator("h5").first.inner_text().lower() == "why"
        assert "at least three thrombectomy passes performed: met (evt_passes=3)" in why
        assert "rests on retracted reference [2]" in why and "[2] RETRACTED" in why
        salvage = page.locator("#rec-aha2015-salvage-adjunct").inner_text()
        assert "ACC/AHA Class IIb, LOE B-R" in salvage
        assert "ev-time-to-treatment" in salvage and "[6] not in reference list" in salvage
        assert "within 6 hours of symptom onset" in salvage
        why_not = page.locator("#not-applicable").inner_text()
        assert "aha2021-severe-stenosis-harm" in why_not
        assert "decision made for elective secondary prevention: unmet (setting=acute)" in (
            why_not)
        assert page.locator("#undecided").count() == 1
        # the verdicts come first, one row per action: undecided here, with what it needs
        assert before(page, "#verdicts", "#derived") and before(page, "#verdicts", "#undecided")
        want = golden_verdict("ind-1-persistent-occlusion-3-passes", "rescue-stenting")
        row = page.locator("#verdicts tr#verdict-rescue-stenting-rescue-stenting")
        assert row.locator(".badge").inner_text() == want["verdict"] == "undecided"
        notes = row.locator("td.notes").inner_text()
        assert f"needs: {', '.join(want['missing_facts'])}" in notes
        assert "acute-reserve-for-severe-stenosis" in notes  # pending on it
        assert "ind-failed-passes applies but every source it rests on is retracted" in notes
        shot(page, "audit-run-page.png")
        page.locator("a", has_text="← audit").click()
        assert page.locator("#runs").count() == 1

        # A run whose verdict sets statements aside: what decided it, with grade and rule.
        page.locator("#runs a", has_text=set_aside_case).click()
        page.wait_for_url(re.compile(r"/audit/run\?iri="))
        assert before(page, "#verdicts", "#derived")
        want = golden_verdict(set_aside_case, "rescue-stenting")
        row = page.locator("#verdicts tr#verdict-rescue-stenting-rescue-stenting")
        assert row.locator(".badge").inner_text() == want["verdict"]
        decided = row.locator("td.decided").inner_text()
        for rec in want["decided_by"]:
            assert rec in decided
        assert "not graded" in decided  # each deciding statement with its grade
        rules = sorted(set(want["overridden"].values()))
        assert rules == ["prohibition-over-indication"]
        sets_aside = row.locator("td.sets-aside").inner_text()
        assert sets_aside.startswith(f"{len(want['overridden'])} statements")
        assert (f"{len(want['overridden'])} statements by prohibition-over-indication: "
                + ", ".join(sorted(want["overridden"]))) in sets_aside
        link = row.locator("td.decided a", has_text=want["decided_by"][0])
        assert link.get_attribute("href") == f"#rec-{want['decided_by'][0]}"
        page.close()
    finally:
        stop_server(server)
