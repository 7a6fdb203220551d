"""explain --graph: the derivation graph as data, and the SVG / PNG pictures drawn from it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.provenance import record as provenance
from guidegraph.provenance.picture import build
from guidegraph.reasoning.reasoner import Reasoner

ROOT = Path(__file__).parents[2]
GUIDELINE = ROOT / "guidelines" / "rescue-stenting"
EXAMPLE = ROOT / "examples" / "basilar-icad-failed-evt.json"
GOLDEN = ROOT / "tests" / "golden" / "rescue-stenting" / "cases"
RS = "https://w3id.org/guidegraph/guideline/rescue-stenting/"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def svg_texts(path: Path) -> list[str]:
    """Every text run of an SVG (matplotlib writes one <text> per line with fonttype none)."""
    root = ET.parse(path).getroot()  # also proves the file is well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.fixture(scope="module")
def rescue_reasoner() -> Reasoner:
    return Reasoner.from_paths([GUIDELINE])


def derivation(reasoner: Reasoner, case_file: Path, rec_id: str | None):
    [case] = reasoner.intake.read(case_file)
    result = provenance.from_triples(provenance.to_triples(reasoner.reason(case), reasoner),
                                     reasoner)
    return build(result, reasoner.knowledge, rec_id)


def edges(graph) -> set[tuple[str, str, str]]:
    return {(a.replace(RS, "rs:"), b.replace(RS, "rs:"), d["rel"])
            for a, b, d in graph.edges(data=True)}


def test_graph_of_a_golden_case_has_the_derivation_edges(rescue_reasoner: Reasoner) -> None:
    case = GOLDEN / "ind-1-persistent-occlusion-3-passes.json"
    graph = derivation(rescue_reasoner, case, "ind-failed-passes")
    # the failed-thrombectomy premise (a pass, and TICI below 2b: the met member of its
    # any-of group), three passes, TICI 0-2a and the 6-hour window
    assert edges(graph) == {
        ("fact:evt_passes", "criterion:rs:crit-evt-3-passes", "tested by"),
        ("fact:evt_passes", "criterion:rs:crit-evt-attempted", "tested by"),
        ("fact:minutes_since_onset", "criterion:rs:crit-within-6h", "tested by"),
        ("fact:setting", "criterion:rs:crit-setting-acute", "tested by"),
        ("fact:tici", "criterion:rs:crit-tici-0-to-2a", "tested by"),
        ("fact:tici", "criterion:rs:crit-tici-below-2b", "tested by"),
        ("criterion:rs:crit-evt-3-passes", "rec:ind-failed-passes", "met"),
        ("criterion:rs:crit-evt-attempted", "rec:ind-failed-passes", "met"),
        ("criterion:rs:crit-setting-acute", "rec:ind-failed-passes", "met"),
        ("criterion:rs:crit-tici-0-to-2a", "rec:ind-failed-passes", "met"),
        ("criterion:rs:crit-tici-below-2b", "rec:ind-failed-passes", "met"),
        ("criterion:rs:crit-within-6h", "rec:ind-failed-passes", "met"),
        ("rec:ind-failed-passes", "grade:ind-failed-passes", "graded"),
        ("rec:ind-failed-passes", "citation:rs:ref-2", "cites"),
    }
    cit = graph.nodes[f"citation:{RS}ref-2"]
    assert cit["status"] == "retracted" and cit["label"].startswith("[2] RETRACTED")
    assert graph.nodes["fact:evt_passes"]["label"] == "evt_passes=3"

    graph = derivation(rescue_reasoner, case, "aha2015-salvage-adjunct")
    assert edges(graph) == {
        ("fact:evt_passes", "criterion:rs:crit-evt-attempted", "tested by"),
        ("fact:minutes_since_onset", "criterion:rs:crit-within-6h", "tested by"),
        ("fact:setting", "criterion:rs:crit-setting-acute", "tested by"),
        ("fact:tici", "criterion:rs:crit-tici-below-2b", "tested by"),
        ("criterion:rs:crit-evt-attempted", "rec:aha2015-salvage-adjunct", "met"),
        ("criterion:rs:crit-setting-acute", "rec:aha2015-salvage-adjunct", "met"),
        ("criterion:rs:crit-tici-below-2b", "rec:aha2015-salvage-adjunct", "met"),
        ("criterion:rs:crit-within-6h", "rec:aha2015-salvage-adjunct", "met"),
        ("rec:aha2015-salvage-adjunct", "grade:aha2015-salvage-adjunct", "graded"),
        ("grade:aha2015-salvage-adjunct", "evidence:rs:ev-time-to-treatment",
         "rests on evidence"),
        ("evidence:rs:ev-time-to-treatment", "citation:rs:ref-6", "cites"),
        ("rec:aha2015-salvage-adjunct", "citation:rs:ref-1", "cites"),
    }
    assert graph.nodes["grade:aha2015-salvage-adjunct"]["label"] == (
        "ACC/AHA Class IIb, LOE B-R")
    assert graph.nodes[f"citation:{RS}ref-6"]["label"] == "[6] not in reference list"


def test_graph_of_a_rejected_recommendation_shows_the_unmet_criteria(
        rescue_reasoner: Reasoner) -> None:
    graph = derivation(rescue_reasoner, GOLDEN / "dnr-1-reperfused-tici-3.json",
                       "ind-failed-passes")
    assert graph.nodes["rec:ind-failed-passes"]["status"] == "unmet"
    # two passes and TICI 3 kept: fewer than three passes, not TICI 0-2a, and none of the
    # failures of the failed-thrombectomy premise (TICI below 2b, reocclusion, flow limitation)
    assert {e for e in edges(graph) if e[1] == "rec:ind-failed-passes"} == {
        ("criterion:rs:crit-evt-3-passes", "rec:ind-failed-passes", "unmet"),
        ("criterion:rs:crit-tici-0-to-2a", "rec:ind-failed-passes", "unmet"),
        ("criterion:rs:crit-tici-below-2b", "rec:ind-failed-passes", "unmet"),
        ("criterion:rs:crit-reocclusion", "rec:ind-failed-passes", "unmet"),
        ("criterion:rs:crit-flow-limitation", "rec:ind-failed-passes", "unmet"),
    }


def test_graph_of_every_derived_recommendation(rescue_reasoner: Reasoner) -> None:
    graph = derivation(rescue_reasoner, GOLDEN / "ind-1-persistent-occlusion-3-passes.json",
                       None)
    recs = {n for n, d in graph.nodes(data=True) if d["kind"] == "recommendation"}
    assert "rec:ind-failed-passes" in recs and "rec:aha2015-salvage-adjunct" in recs
    assert all(graph.nodes[n]["status"] == "met" for n in recs)
    assert ("fact:tici", "criterion:rs:crit-tici-0-to-2a", "tested by") in edges(graph)


def test_svg_is_written_and_names_the_derivation(tmp_path: Path) -> None:
    out = tmp_path / "derivation.svg"
    res = run("explain", str(EXAMPLE), "--guideline", str(GUIDELINE), "--graph", str(out))
    assert res.exit_code == 0, res.output
    assert "ind-failed-passes" in res.stdout  # the text explanation is still printed
    texts = svg_texts(out)
    joined = "\n".join(texts)
    for label in ("ind-failed-passes", "[2] RETRACTED", "evt_passes=3",
                  "[3] not in reference list", "[6] not in reference list", "Citations"):
        assert label in joined, label
    assert any(t.startswith("[2]") and "RETRACTED" in t for t in texts)


def test_png_has_the_png_signature(tmp_path: Path) -> None:
    out = tmp_path / "derivation.png"
    res = run("explain", str(EXAMPLE), "--guideline", str(GUIDELINE), "--rec",
              "ind-failed-passes", "--graph", str(out))
    assert res.exit_code == 0, res.output
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000


@pytest.mark.parametrize("name", ["derivation.pdf", "derivation", "derivation.svg.txt"])
def test_other_suffixes_exit_2(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    res = run("explain", str(EXAMPLE), "--guideline", str(GUIDELINE), "--graph", str(out))
    assert res.exit_code == 2
    assert ".svg or .png" in res.stderr and not res.stdout
    assert not out.exists()


def test_graph_from_a_provenance_file_for_a_rejected_recommendation(tmp_path: Path) -> None:
    prov = tmp_path / "run.ttl"
    res = run("reason", str(GOLDEN / "dnr-1-reperfused-tici-3.json"), "--guideline",
              str(GUIDELINE), "--format", "turtle")
    assert res.exit_code == 0
    prov.write_text(res.stdout)
    out = tmp_path / "why-not.svg"
    res = run("explain", "--provenance", str(prov), "--guideline", str(GUIDELINE), "--rec",
              "ind-failed-passes", "--graph", str(out))
    assert res.exit_code == 0, res.output
    joined = "\n".join(svg_texts(out))
    assert "does not apply" in joined and "evt_passes=2" in joined and "tici=3" in joined


def test_graph_from_a_stored_run(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("load", "--store", str(store), "--guideline", str(GUIDELINE)).exit_code == 0
    res = run("reason", str(EXAMPLE), "--save", "--store", str(store), "--format", "json")
    assert res.exit_code == 0, res.output
    iri = json.loads(res.stdout)["provenance"]
    out = tmp_path / "stored.svg"
    res = run("explain", "--run", iri, "--store", str(store), "--graph", str(out))
    assert res.exit_code == 0, res.output
    joined = "\n".join(svg_texts(out))
    assert "ind-failed-passes" in joined and "[2] RETRACTED" in joined
