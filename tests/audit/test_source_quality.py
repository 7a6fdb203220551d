"""Source-quality findings of `guidegraph audit`: quoted society grades resting on secondary
sources only, data quality notes and source inconsistencies. They are info: reported in every
output format, never a failure by themselves.

The data are copies of the rescue-stenting guideline and of the clean validation fixture,
each with the terms added that the audit reads (gg:SecondarySource, gg:dataQualityNote,
gg:sourceInconsistency); the rescue-stenting copy first drops the ones the shipped files
record, so these tests do not depend on them. One test reads the shipped guideline itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from guidegraph.audit.findings import audit, render_text
from guidegraph.cli import main
from guidegraph.knowledge.loading import Knowledge

ROOT = Path(__file__).parents[2]
CLEAN = ROOT / "tests" / "validation" / "fixtures" / "clean.ttl"
MORTALITY_NOTE = ("The text gives 12% mortality in one arm and 21% in the other but calls "
                  "the difference small; kept as given.")
INCONSISTENT = ("The summary says 'within 6 hours', the timing section 'within 6 hours of "
                "onset to groin puncture'; encoded as onset to decision.")
#: Quoted society grades (gg:originGuideline and a grade that is not 'not graded') whose
#: only citation is reference [1], read from guidelines/rescue-stenting/recommendations.ttl.
#: aha2015-salvage-adjunct is left out because the copy gives it a primary citation;
#: alt-ia-gp2b3a-basilar and eso2024-addon-antithrombotic quote no grade.
SECONDARY_ONLY = ["aha2015-tandem-cervical", "aha2021-moderate-stenosis-harm",
                  "aha2021-severe-stenosis-harm", "eso2024-bao-rescue"]


SHIPPED_SECONDARY_TYPE = "a gg:Citation, gg:SecondarySource, fabio:ClinicalGuideline ;"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def without_source_quality_terms(target: Path) -> Path:
    """A copy of the rescue-stenting guideline without the secondary-source type, data
    quality notes and source inconsistencies its shipped files record (each note is one
    line of its node, and [1] keeps its other types)."""
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", target)
    meta = target / "guideline.ttl"
    text = meta.read_text(encoding="utf-8")
    assert SHIPPED_SECONDARY_TYPE in text
    meta.write_text(text.replace(SHIPPED_SECONDARY_TYPE,
                                 "a gg:Citation, fabio:ClinicalGuideline ;"), encoding="utf-8")
    for path in target.glob("*.ttl"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.lstrip().startswith(
            ("gg:dataQualityNote ", "gg:sourceInconsistency "))]
        assert all(line.rstrip().endswith(";") for line in lines if line not in kept)
        path.write_text("".join(kept), encoding="utf-8")
    return target


def rescue_copy(target: Path) -> Path:
    """The rescue-stenting guideline with [1] typed a secondary source, a primary citation
    for one quoted grade, a data quality note and a source inconsistency, and none of the
    shipped ones."""
    without_source_quality_terms(target)
    with (target / "recommendations.ttl").open("a", encoding="utf-8") as out:
        out.write(f"""
rs:ref-1 a gg:SecondarySource .
rs:ref-aha-2015 a gg:Citation ; gg:referenceNumber 7 ; gg:citationStatus gg:active ;
    rdfs:label "[7] 2015 AHA/ASA focused update" .
rs:rec-aha2015-salvage cito:citesAsAuthority rs:ref-aha-2015 .
rs:rec-aha2021-severe-harm gg:sourceInconsistency "{INCONSISTENT}" .
""")
    with (target / "evidence.ttl").open("a", encoding="utf-8") as out:
        out.write(f'\nrs:ev-mortality gg:dataQualityNote "{MORTALITY_NOTE}" .\n')
    return target


def clean_copy(target: Path) -> Path:
    """The clean validation fixture whose one graded recommendation is quoted from another
    guideline and cites only a secondary source."""
    text = CLEAN.read_text(encoding="utf-8")
    target.write_text(text + """
ex:rec gg:originGuideline ex:society-2020 .
ex:society-2020 a gg:ExternalGuideline ; rdfs:label "2020 society guideline"@en .
ex:ref-1 a gg:SecondarySource .
""", encoding="utf-8")
    return target


def by_kind(findings, kind: str):
    return [f for f in findings if f.kind == kind]


def test_quoted_grades_on_secondary_sources_one_finding_per_guideline(tmp_path: Path) -> None:
    report = audit(Knowledge.load([rescue_copy(tmp_path / "rescue-stenting")]))
    [finding] = by_kind(report.findings, "grade-on-secondary-source")
    assert finding.severity == "info" and finding.subject == "rescue-stenting"
    assert finding.message == (
        "rescue-stenting: 4 quoted society grades rest on a secondary source with no primary "
        "citation: " + ", ".join(SECONDARY_ONLY))
    assert [a.id for a in finding.affects] == SECONDARY_ONLY
    severe = next(a for a in finding.affects if a.id == "aha2021-severe-stenosis-harm")
    assert severe.kind == "recommendation"
    assert severe.iri == "https://w3id.org/guidegraph/guideline/rescue-stenting/rec-aha2021-severe-harm"
    assert severe.path[0] == "aha2021-severe-stenosis-harm"
    assert severe.path[1].startswith("grade III: Harm quoted from 2021 AHA/ASA")
    assert severe.path[2] == "[1]"


def test_data_quality_notes_and_source_inconsistencies_name_node_and_note(
        tmp_path: Path) -> None:
    report = audit(Knowledge.load([rescue_copy(tmp_path / "rescue-stenting")]))
    [note] = by_kind(report.findings, "data-quality-note")
    assert note.severity == "info" and note.subject == "ev-mortality"
    assert note.message == f"data quality note on evidence statement ev-mortality: {MORTALITY_NOTE}"
    assert note.iri == "https://w3id.org/guidegraph/guideline/rescue-stenting/ev-mortality"
    [inconsistency] = by_kind(report.findings, "source-inconsistency")
    assert inconsistency.severity == "info"
    assert inconsistency.message == (
        f"source inconsistency on recommendation aha2021-severe-stenosis-harm: {INCONSISTENT}")


def test_the_shipped_guidelines_report_what_their_files_record() -> None:
    """Read off the shipped files: [1] of rescue stenting is a secondary source behind all
    five quoted society grades, three evidence statements carry a data quality note, and
    two rescue-stenting statements and one IVT criterion record a source inconsistency."""
    report = audit(Knowledge.load())
    [grades] = by_kind(report.findings, "grade-on-secondary-source")
    assert grades.subject == "rescue-stenting" and grades.severity == "info"
    assert [a.id for a in grades.affects] == ["aha2015-salvage-adjunct", *SECONDARY_ONLY]
    assert grades.message.startswith("rescue-stenting: 5 quoted society grades rest on")
    notes = by_kind(report.findings, "data-quality-note")
    assert [f.subject for f in notes] == ["ev-dapt-new-infarcts", "ev-dapt-symptomatic-ich",
                                          "ev-functional-outcome"]
    assert {f.iri.rsplit("/", 1)[-1] for f in notes} == {
        "ev-dapt-new-infarcts", "ev-dapt-sich", "ev-functional-outcome"}
    assert "sqrt(1.22 x 4.29) = 2.29" in notes[2].message
    inconsistencies = by_kind(report.findings, "source-inconsistency")
    assert [f.subject for f in inconsistencies] == ["basilar-beyond-6h-uncertain",
                                                    "pt-above-15s", "rs-summary"]
    assert inconsistencies[1].message.startswith(
        "source inconsistency on criterion pt-above-15s: The row gives both an INR limit")
    assert all(f.severity == "info" for f in [*notes, *inconsistencies])


def test_without_the_terms_there_are_no_source_quality_findings(tmp_path: Path) -> None:
    plain = tmp_path / "rescue-stenting"
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", plain)
    for path in plain.glob("*.ttl"):  # drop whatever the shipped copy records
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(line for line in lines if "gg:SecondarySource" not in line
                                and "gg:dataQualityNote" not in line
                                and "gg:sourceInconsistency" not in line), encoding="utf-8")
    report = audit(Knowledge.load([plain]))
    kinds = {f.kind for f in report.findings}
    assert not kinds & {"grade-on-secondary-source", "data-quality-note",
                        "source-inconsistency"}


def test_info_findings_alone_do_not_fail_the_audit(tmp_path: Path) -> None:
    report = audit(Knowledge.load([clean_copy(tmp_path / "clean.ttl")]))
    assert [(f.severity, f.kind) for f in report.findings] == [
        ("info", "grade-on-secondary-source")]
    assert report.findings[0].message == (
        "guideline: 1 quoted society grade rests on a secondary source with no primary "
        "citation: rec-1")
    assert report.counts() == {"error": 0, "warning": 0, "info": 1}
    assert not report.failed
    assert "0 errors, 0 warnings, 1 info" in render_text(report)


def test_cli_reports_them_in_json_text_and_turtle_and_exits_by_errors_only(
        tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    loaded = run("load", "--store", store, "--guideline", str(clean_copy(tmp_path / "g.ttl")))
    assert loaded.exit_code == 0, loaded.output
    res = run("audit", "--store", store, "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["counts"] == {"error": 0, "warning": 0, "info": 1}
    [finding] = doc["findings"]
    assert finding["kind"] == "grade-on-secondary-source" and finding["severity"] == "info"
    assert finding["affects"][0]["path"][1] == "grade IIb quoted from 2020 society guideline"
    text = run("audit", "--store", store)
    assert text.exit_code == 0
    assert ("[INFO] grade-on-secondary-source: guideline: 1 quoted society grade rests on a "
            "secondary source with no primary citation: rec-1") in text.stdout
    turtle = run("audit", "--store", store, "--format", "turtle")
    assert '"grade-on-secondary-source"' in turtle.stdout and '"info"' in turtle.stdout

    rescue = str(tmp_path / "rescue-store")
    assert run("load", "--store", rescue, "--guideline",
               str(rescue_copy(tmp_path / "rescue-stenting"))).exit_code == 0
    res = run("audit", "--store", rescue, "--format", "json")
    assert res.exit_code == 1  # the retracted reference [2] is an error; info changes nothing
    kinds = [f["kind"] for f in json.loads(res.stdout)["findings"] if f["severity"] == "info"]
    assert sorted(kinds) == ["data-quality-note", "grade-on-secondary-source",
                             "source-inconsistency"]


def test_the_audit_page_lists_them_under_info(tmp_path: Path) -> None:
    import gc
    import re

    from guidegraph.serve.backend import knowledge_chooser
    from guidegraph.serve.pages import AuditPages
    from guidegraph.store.base import EmbeddedStore

    store_path = tmp_path / "store"
    assert run("load", "--store", str(store_path), "--guideline",
               str(rescue_copy(tmp_path / "rescue-stenting"))).exit_code == 0
    store = EmbeddedStore(store_path)
    try:
        page = AuditPages(store, knowledge_chooser(store),
                          lambda *args, **kwargs: "/").summary(1)
    finally:
        del store
        gc.collect()
    info = page.split('<h3 id="sev-info">', 1)[1]
    assert info.startswith("Info (3)")
    kinds = re.findall(r'<span class="badge sev-info">info</span> <strong>([^<]+)</strong>',
                       info)
    assert kinds == ["data-quality-note", "grade-on-secondary-source", "source-inconsistency"]
    assert "4 quoted society grades rest on a secondary source" in info
