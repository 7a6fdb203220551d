"""explain --graph: the derivation graph as data, and the SVG / PNG pictures drawn from it."""

from __future__ import annotations

import json
import shutil
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.knowledge.loading import Knowledge
from guidegraph.provenance import record as provenance
from guidegraph.provenance.picture import GraphvizMissing, build, dot_source, draw
from guidegraph.reasoning.reasoner import Reasoner

ROOT = Path(__file__).parents[2]
GUIDELINE = ROOT / "guidelines" / "rescue-stenting"
EXAMPLE = ROOT / "examples" / "basilar-icad-failed-evt.json"
GOLDEN = ROOT / "tests" / "golden" / "rescue-stenting" / "cases"
DECISIONS = ROOT / "tests" / "golden" / "decisions"
RS = "https://w3id.org/guidegraph/guideline/rescue-stenting/"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OVERRIDES = GOLDEN / "basilar-361-minutes-icad-severe-uncertain.json"
RESCUE_VERDICT = "verdict:rescue-stenting/rescue-stenting"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def svg_texts(path: Path) -> list[str]:
    """Every text run of an SVG (dot writes one <text> per line of an HTML-like label)."""
    root = ET.parse(path).getroot()  # also proves the file is well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.fixture(scope="module")
def rescue_reasoner() -> Reasoner:
    return Reasoner(Knowledge.load([GUIDELINE]))


def reasoned(reasoner: Reasoner, case_file: Path):
    """The result as ``explain`` sees it: read back from the run's provenance."""
    [case] = reasoner.intake.read(case_file)
    return provenance.from_triples(provenance.to_triples(reasoner.reason(case), reasoner),
                                   reasoner)


def derivation(reasoner: Reasoner, case_file: Path, rec_id: str | None):
    return build(reasoned(reasoner, case_file), reasoner.knowledge, rec_id)


def edges(graph) -> set[tuple[str, str, str]]:
    return {(a.replace(RS, "rs:"), b.replace(RS, "rs:"), d["rel"])
            for a, b, d in graph.edges(data=True)}


def overrides(graph) -> set[tuple[str, str, str]]:
    """(prevailing statement, statement set aside, precedence rule) of every override."""
    return {(a, b, d["rule"]) for a, b, d in graph.edges(data=True) if d["rel"] == "sets aside"}


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG file, each CRC checked: a truncated or corrupt file fails here."""
    assert data.startswith(PNG_SIGNATURE)
    chunks, at = [], len(PNG_SIGNATURE)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        at += 12 + length
    return chunks


BASILAR_OVERRIDES = {
    ("rec:basilar-beyond-6h-uncertain", "rec:eso2024-bao-rescue", "explicit-override"),
    ("rec:basilar-beyond-6h-uncertain", "rec:pitfall-beyond-6h", "explicit-override"),
    ("rec:pitfall-beyond-6h", "rec:eso2024-bao-rescue", "prohibition-over-indication"),
}


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
        # it applies, but the verdict on its action waits for undecided statements
        ("rec:ind-failed-passes", RESCUE_VERDICT, "not deciding"),
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
        ("rec:aha2015-salvage-adjunct", RESCUE_VERDICT, "not deciding"),
    }
    verdict = graph.nodes[RESCUE_VERDICT]
    assert verdict["kind"] == "verdict" and verdict["status"] == "undecided"
    assert verdict["label"].splitlines()[1:] == ["UNDECIDED", "needs stenosis_percent"]
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
    # the verdict on its action stands on other statements
    assert ("rec:ind-failed-passes", RESCUE_VERDICT, "does not apply") in edges(graph)
    assert graph.nodes[RESCUE_VERDICT]["status"] == "against"


def test_graph_of_every_derived_recommendation(rescue_reasoner: Reasoner) -> None:
    graph = derivation(rescue_reasoner, GOLDEN / "ind-1-persistent-occlusion-3-passes.json",
                       None)
    recs = {n for n, d in graph.nodes(data=True) if d["kind"] == "recommendation"}
    assert "rec:ind-failed-passes" in recs and "rec:aha2015-salvage-adjunct" in recs
    assert all(graph.nodes[n]["status"] == "met" for n in recs)
    assert ("fact:tici", "criterion:rs:crit-tici-0-to-2a", "tested by") in edges(graph)


def test_graph_has_one_verdict_per_action_and_what_was_set_aside(
        rescue_reasoner: Reasoner) -> None:
    result = reasoned(rescue_reasoner, OVERRIDES)
    graph = build(result, rescue_reasoner.knowledge)
    verdicts = {n: d["status"] for n, d in graph.nodes(data=True) if d["kind"] == "verdict"}
    assert verdicts == {f"verdict:{c.guideline}/{c.action}": c.direction
                        for c in result.conclusions}
    assert verdicts[RESCUE_VERDICT] == "uncertain"
    assert {e for e in edges(graph) if e[1] == RESCUE_VERDICT} == {
        ("rec:basilar-beyond-6h-uncertain", RESCUE_VERDICT, "decides"),
        ("rec:eso2024-bao-rescue", RESCUE_VERDICT, "set aside"),
        ("rec:pitfall-beyond-6h", RESCUE_VERDICT, "set aside"),
    }
    assert overrides(graph) == BASILAR_OVERRIDES
    label = graph.nodes[RESCUE_VERDICT]["label"].splitlines()
    assert label[1] == "UNCERTAIN" and label[-1] == "2 statements set aside"
    for node, data in graph.nodes(data=True):  # each statement says what it did, once
        if data["kind"] == "recommendation":
            assert sum(graph.nodes[m]["kind"] == "verdict" for m in graph.successors(node)) == 1


def test_graph_of_a_set_aside_recommendation_shows_what_prevailed(
        rescue_reasoner: Reasoner) -> None:
    graph = derivation(rescue_reasoner, OVERRIDES, "eso2024-bao-rescue")
    assert {n for n, d in graph.nodes(data=True) if d["kind"] == "verdict"} == {RESCUE_VERDICT}
    assert overrides(graph) == BASILAR_OVERRIDES
    assert ("rec:eso2024-bao-rescue", RESCUE_VERDICT, "set aside") in edges(graph)
    # the statements that prevailed are there, without their own derivation
    assert "grade:basilar-beyond-6h-uncertain" not in graph
    assert not list(graph.predecessors("rec:basilar-beyond-6h-uncertain"))
    assert graph.nodes["rec:basilar-beyond-6h-uncertain"]["status"] == "met"


def test_graph_of_a_conflict_shows_both_sides_and_what_was_set_aside() -> None:
    reasoner = Reasoner(Knowledge.load([DECISIONS / "guideline"]))
    graph = derivation(reasoner, DECISIONS / "cases" / "dd-unordered-conflict.json", None)
    verdict = "verdict:decision-demo/demo-x"
    assert graph.nodes[verdict]["status"] == "conflict"
    assert {e for e in edges(graph) if e[1] == verdict} == {
        ("rec:x-strong", verdict, "conflicts"),
        ("rec:x-embolic", verdict, "conflicts"),
        ("rec:x-base", verdict, "set aside"),
    }
    assert overrides(graph) == {("rec:x-embolic", "rec:x-base", "more-specific")}
    assert graph.nodes[verdict]["label"].splitlines()[1] == "CONFLICT"


HOSTILE = 'it\'s "quoted" <b>bold</b> & <BR/> \\N ]; } x'


def test_hostile_labels_are_escaped_in_the_dot(tmp_path: Path) -> None:
    graph = nx.DiGraph()
    graph.add_node('fact:"k"<', kind="fact", status="present", label=HOSTILE + "\nnext line")
    graph.add_node("criterion:x", kind="criterion", status="met", label="+ x")
    graph.add_edge('fact:"k"<', "criterion:x", rel="tested by")
    graph.add_node("grade:x", kind="grade", status="", label="")  # dot refuses label=<>
    graph.add_edge("criterion:x", "grade:x", rel="graded")
    source = dot_source(graph, title=HOSTILE)
    escaped = ("it&#x27;s &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt; &amp; &lt;BR/&gt; "
               "\\\\N ]; } x")
    assert source.count(escaped) == 2  # the title and the box
    assert f"{escaped}<BR/>next line" in source  # a newline in a label is a line break
    assert HOSTILE not in source and '"quoted"' not in source and "<b>" not in source
    assert "fact:" not in source  # node keys are never written as DOT ids
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed: the DOT text alone was checked")
    texts = svg_texts(draw(graph, tmp_path / "hostile.svg", HOSTILE))
    assert texts.count(HOSTILE) == 2 and "next line" in texts


def test_a_fact_value_from_the_case_cannot_break_a_line(rescue_reasoner: Reasoner) -> None:
    result = reasoned(rescue_reasoner, EXAMPLE)
    result.facts["evt_passes"] = '3\n"x" <y> & z'
    graph = build(result, rescue_reasoner.knowledge, "ind-failed-passes")
    assert graph.nodes["fact:evt_passes"]["label"] == 'evt_passes=3\\n"x" <y> & z'
    assert "evt_passes=3\\\\n&quot;x&quot; &lt;y&gt; &amp; z>" in dot_source(graph)


@needs_dot
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


@needs_dot
def test_svg_shows_the_verdicts_and_the_overrides(tmp_path: Path) -> None:
    out = tmp_path / "overrides.svg"
    res = run("explain", str(OVERRIDES), "--guideline", str(GUIDELINE), "--graph", str(out))
    assert res.exit_code == 0, res.output
    texts = svg_texts(out)
    for label in ("Verdicts", "rescue-stenting [rescue-stenting]", "UNCERTAIN", "FOR",
                  "2 statements set aside", "decides", "set aside", "sets aside",
                  "(explicit-override)", "(prohibition-over-indication)"):
        assert label in texts, label
    assert texts.count("sets aside") == 3 and texts.count("(explicit-override)") == 2


@needs_dot
def test_png_is_a_valid_png(tmp_path: Path) -> None:
    out = tmp_path / "derivation.png"
    res = run("explain", str(EXAMPLE), "--guideline", str(GUIDELINE), "--rec",
              "ind-failed-passes", "--graph", str(out))
    assert res.exit_code == 0, res.output
    chunks = png_chunks(out.read_bytes())
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert width > 300 and height > 100 and interlace == 0
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(pixels) == height * (1 + (width * channels * depth + 7) // 8)


@needs_dot
def test_the_same_derivation_gives_the_same_svg_bytes(tmp_path: Path) -> None:
    outs = [tmp_path / "first.svg", tmp_path / "second.svg"]
    for out in outs:
        res = run("explain", str(OVERRIDES), "--guideline", str(GUIDELINE), "--graph", str(out))
        assert res.exit_code == 0, res.output
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_without_dot_the_graph_is_refused_naming_graphviz(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    out = tmp_path / "derivation.svg"
    res = run("explain", str(EXAMPLE), "--guideline", str(GUIDELINE), "--graph", str(out))
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit)
    assert "Graphviz" in res.stderr and "apt-get install graphviz" in res.stderr
    assert not res.stdout and "Traceback" not in res.output
    assert not out.exists()
    with pytest.raises(GraphvizMissing, match="Graphviz"):
        draw(nx.DiGraph(), out)


@pytest.mark.parametrize("name", ["derivation.pdf", "derivation", "derivation.svg.txt"])
def test_other_suffixes_exit_2(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    res = run("explain", str(EXAMPLE), "--guideline", str(GUIDELINE), "--graph", str(out))
    assert res.exit_code == 2
    assert ".svg or .png" in res.stderr and not res.stdout
    assert not out.exists()


@needs_dot
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


@needs_dot
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
