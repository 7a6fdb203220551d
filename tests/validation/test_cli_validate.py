"""`guidegraph validate`: exit codes 0/1/2, the three formats, stdout/stderr discipline."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import rdflib
from click.testing import CliRunner
from rdflib import RDF, SH

from guidegraph.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
CLEAN = str(FIXTURES / "clean.ttl")
BROKEN = str(FIXTURES / "rec-no-citation.ttl")
WARNS = str(FIXTURES / "rec-cites-retracted.ttl")
CYCLE = str(FIXTURES / "flow-cycle.ttl")


@functools.cache
def run(*args: str):
    """`guidegraph validate ARGS --no-owl`, run once per distinct ARGS in this module."""
    return CliRunner().invoke(main, ["validate", *args, "--no-owl"])


def test_clean_exits_0_with_counts() -> None:
    res = run(CLEAN)
    assert res.exit_code == 0, res.output
    assert res.stdout.rstrip().endswith("0 violations, 0 warnings, 0 info")


def test_warnings_alone_still_conform() -> None:
    res = run(WARNS)
    assert res.exit_code == 0, res.output
    assert "0 violations, 1 warnings, 0 info" in res.stdout
    assert "reference 2, which is retracted" in res.stdout


LOADED = [
    "loaded:",
    "  ontology: ontology/guidegraph.ttl, ontology/ivt.ttl, ontology/schemes.ttl, "
    "ontology/stroke.ttl",
    "  shapes: shapes/authoring.ttl, shapes/case-contract-ivt.ttl, "
    "shapes/case-contract-stroke.ttl",
    "  contexts: ontology/contexts/ivt-case.context.jsonld, "
    "ontology/contexts/stroke-case.context.jsonld",
    "  guidelines: 1 file",
    "  SHACL engine: oxigraph",
]


def test_violation_exits_1_and_text_groups_by_file_then_focus() -> None:
    res = run(BROKEN)
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert lines[:6] == LOADED and lines[6] == ""
    assert lines[7].endswith("rec-no-citation.ttl")
    assert lines[8].strip() == "rec-1 <ex:rec>"
    assert lines[9].strip().startswith("Violation: Recommendation rec-1 cites no gg:Citation")
    assert lines[-2:] == ["", "1 violations, 0 warnings, 0 info"]


def test_text_names_the_files_read_before_the_results() -> None:
    lines = run(CLEAN).stdout.splitlines()
    assert lines == [*LOADED, "", "0 violations, 0 warnings, 0 info"]
    every = run().stdout.splitlines()  # the shipped guidelines
    shipped = len(list((FIXTURES.parents[2] / "guidelines").rglob("*.ttl")))
    assert shipped > 1 and every[4] == f"  guidelines: {shipped} files"


def test_json_format() -> None:
    res = run(BROKEN, "--format", "json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["conforms"] is False
    assert doc["counts"] == {"violations": 1, "warnings": 0, "info": 0}
    (result,) = doc["results"]
    assert set(result) == {"file", "focus", "label", "severity", "path", "value", "message"}
    assert result["focus"] == "ex:rec" and result["label"] == "rec-1"
    assert result["severity"] == "Violation"


def test_json_format_clean() -> None:
    res = run(CLEAN, "--format", "json")
    assert res.exit_code == 0
    assert json.loads(res.stdout) == {
        "conforms": True,
        "counts": {"violations": 0, "warnings": 0, "info": 0},
        "loaded": {
            "ontology": ["ontology/guidegraph.ttl", "ontology/ivt.ttl", "ontology/schemes.ttl",
                         "ontology/stroke.ttl"],
            "shapes": ["shapes/authoring.ttl", "shapes/case-contract-ivt.ttl",
                       "shapes/case-contract-stroke.ttl"],
            "contexts": ["ontology/contexts/ivt-case.context.jsonld",
                         "ontology/contexts/stroke-case.context.jsonld"],
            "guidelines": ["tests/validation/fixtures/clean.ttl"],
        },
        "engines": {"shacl": "oxigraph"},
        "results": [],
    }


def test_the_pyshacl_engine_gives_the_same_report_and_says_so() -> None:
    compiled = json.loads(run(BROKEN, "--format", "json").stdout)
    reference = json.loads(run(BROKEN, "--format", "json", "--shacl", "pyshacl").stdout)
    assert reference["engines"] == {"shacl": "pyshacl"}
    assert compiled["engines"] == {"shacl": "oxigraph"}
    assert {**reference, "engines": None} == {**compiled, "engines": None}
    assert "SHACL engine: pyshacl" in run(BROKEN, "--shacl", "pyshacl").stdout


def test_an_unknown_shacl_engine_is_refused_with_the_choices() -> None:
    res = run(CLEAN, "--shacl", "jena")
    assert res.exit_code == 2
    assert "'jena' is not one of 'auto', 'oxigraph', 'pyshacl'" in res.output


def test_turtle_format_is_a_shacl_report_including_graph_checks() -> None:
    res = run(CYCLE, "--format", "turtle")
    assert res.exit_code == 1
    g = rdflib.Graph().parse(data=res.stdout, format="turtle")
    report = g.value(predicate=RDF.type, object=SH.ValidationReport)
    assert g.value(report, SH.conforms) == rdflib.Literal(False)
    results = list(g.objects(report, SH.result))
    assert len(results) == 1
    shape = g.value(results[0], SH.sourceShape)
    assert str(shape) == "https://w3id.org/guidegraph/shapes#AlgorithmFlow-cycle"


def test_invalid_turtle_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken-guideline.ttl"
    bad.write_text("@prefix ex: <https://example.org/> .\nex:a ex:b ex:c ;\n  ex:d .\n")
    res = run(str(bad))
    assert res.exit_code == 2
    assert res.stdout == ""
    assert "broken-guideline.ttl" in res.stderr
    assert "line 3" in res.stderr  # the parser's position is passed on


def test_turtle_rdflib_would_accept_is_still_refused(tmp_path: Path) -> None:
    # A bare directive without its final dot: rdflib is lenient, pyoxigraph is not.
    bad = tmp_path / "lenient.ttl"
    bad.write_text("@prefix ex: <https://example.org/>\nex:a ex:b ex:c .\n")
    res = run(str(bad))
    assert res.exit_code == 2
    assert res.stdout == ""
    assert "lenient.ttl" in res.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    res = run(str(tmp_path / "nope.ttl"))
    assert res.exit_code == 2
    assert res.stdout == ""
    assert "nope.ttl: no such file" in res.stderr


def test_help_does_not_import_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from guidegraph.cli import main; "
        "heavy = ('pyshacl', 'owlready2', 'networkx', 'rdflib'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
