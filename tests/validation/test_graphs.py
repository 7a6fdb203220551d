"""Strict loading: pyoxigraph rejects what rdflib would accept; owl:imports is not followed."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidegraph.errors import GraphLoadError, GuidegraphError
from guidegraph.knowledge import files as graphs


def test_invalid_turtle_raises_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <https://example.org/> .\nex:a ex:b .\n")
    with pytest.raises(GraphLoadError) as info:
        graphs.parse_file(bad)
    assert info.value.path == bad
    assert info.value.exit_code == 2
    assert isinstance(info.value, GuidegraphError)
    assert str(bad) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GraphLoadError, match="no such file"):
        graphs.parse_file(tmp_path / "absent.ttl")


def test_owl_imports_not_followed(tmp_path: Path) -> None:
    f = tmp_path / "imports.ttl"
    f.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "<https://example.org/o> a owl:Ontology ; owl:imports <https://example.invalid/other> .\n"
    )
    assert len(graphs.parse_file(f)) == 2


def test_folders_expand_to_rdf_files(tmp_path: Path) -> None:
    (tmp_path / "a.ttl").write_text("<https://example.org/a> <https://example.org/p> 1 .\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.ttl").write_text("<https://example.org/b> <https://example.org/p> 2 .\n")
    (tmp_path / "notes.md").write_text("not RDF")
    assert [p.name for p in graphs.expand_paths([tmp_path])] == ["a.ttl", "b.ttl"]
    assert sum(len(g) for _, g in graphs.load_files([tmp_path])) == 2


def test_one_set_of_knowledge_files_for_reasoning_validation_and_hashes() -> None:
    import rdflib

    from guidegraph.knowledge.loading import knowledge_files, read_parts

    files = knowledge_files()
    assert [p.name for p in files.ontology] == ["guidegraph.ttl", "ivt.ttl", "schemes.ttl",
                                                "stroke.ttl"]
    assert [p.name for p in files.contexts] == ["ivt-case.context.jsonld",
                                                "stroke-case.context.jsonld"]
    assert [p.name for p in files.guidelines] == ["ivt-eligibility", "rescue-stenting"]
    parts = read_parts()
    assert parts[0].content_hash == files.ontology_hash()
    g = rdflib.Graph()
    for _, one in graphs.load_files(files.ontology):
        g += one
    gg = "https://w3id.org/guidegraph/ontology#"
    assert (rdflib.URIRef(gg + "Recommendation"), rdflib.RDF.type, rdflib.OWL.Class) in g
