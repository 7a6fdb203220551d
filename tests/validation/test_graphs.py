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


ROOT = Path(__file__).parents[2]
EDGES = """@prefix ex: <https://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:a ex:int 01 ; ex:dec 1.50 ; ex:dbl 1e0 ; ex:bool true ; ex:plain "x\\ty" ;
     ex:lang "Fr"@fr ; ex:odd "nope"^^xsd:boolean ;
     ex:rel <b#c> ; ex:list ( 1 [ ex:p ex:q ] ) ; ex:blank _:n , [ ex:p _:n ] .
_:n ex:p "long \\"quoted\\" text\\nwith a line" .
"""


@pytest.mark.parametrize("path", [
    *sorted(p for folder in ("ontology", "guidelines", "shapes")
            for p in (ROOT / folder).rglob("*.ttl")),
    *sorted((ROOT / "examples").glob("*.ttl")), "edges.ttl"],
    ids=lambda p: str(p).rsplit("/", 2)[-1] if not isinstance(p, str) else p)
def test_a_file_reads_as_rdflib_s_own_parser_reads_it(path: Path | str,
                                                       tmp_path: Path) -> None:
    """The graph built from pyoxigraph's parse is isomorphic to rdflib's parse of the same
    file: literals by lexical form and datatype, relative IRIs, lists, blank nodes shared
    within a file, the file's prefixes (every shipped file, and edge cases)."""
    import rdflib
    from rdflib.compare import isomorphic

    if path == "edges.ttl":
        path = tmp_path / "edges.ttl"
        path.write_text(EDGES)
    path = Path(path)
    ours = graphs.parse_file(path)
    theirs = rdflib.Graph()
    theirs.parse(str(path), format="turtle", publicID=path.resolve().as_uri())
    assert len(ours) == len(theirs) > 0
    assert isomorphic(ours, theirs)
    assert dict(theirs.namespaces()).items() <= dict(ours.namespaces()).items()
    if path.name == "edges.ttl":
        literals = {str(o): o for o in ours.objects() if isinstance(o, rdflib.Literal)}
        assert literals["1"].datatype == rdflib.XSD.integer and literals["1"].value == 1
        assert literals["Fr"].language == "fr"
        assert literals["x\ty"].datatype is None  # a simple literal, as rdflib parses it
        [(rel,)] = ours.query("SELECT ?o { ?s <https://example.org/rel> ?o }")
        assert str(rel) == path.resolve().parent.as_uri() + "/b#c"


def test_where_rdflib_s_parser_differs_the_graph_holds_the_same_rdf_term(tmp_path: Path
                                                                         ) -> None:
    """The two differences from rdflib's parser, both the same term in RDF 1.1: an explicit
    ``^^xsd:string`` is the simple literal (rdflib keeps it apart; pySHACL reads a simple
    literal as an xsd:string, so sh:datatype checks agree), and a language tag is lower
    case, as pyoxigraph keeps it (tags are case-insensitive)."""
    import rdflib

    path = tmp_path / "typed.ttl"
    path.write_text('<https://example.org/a> <https://example.org/p> "x"^^'
                    '<http://www.w3.org/2001/XMLSchema#string> , "y"@fr-CA .\n')
    literals = sorted(o for _s, _p, o in graphs.parse_file(path))
    assert literals == [rdflib.Literal("x"), rdflib.Literal("y", lang="fr-ca")]
    assert [(o.datatype, o.language) for o in literals] == [(None, None), (None, "fr-ca")]


def test_rdf_1_2_triple_terms_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "star.ttl"
    path.write_text("@prefix ex: <https://example.org/> .\n"
                    "ex:a ex:says <<( ex:b ex:c ex:d )>> .\n")
    with pytest.raises(GraphLoadError) as info:
        graphs.parse_file(path)
    assert str(info.value) == (
        f"{path}: rdflib cannot hold <https://example.org/b> <https://example.org/c> "
        "<https://example.org/d>: RDF 1.2 triple terms are not supported here")


def test_rdf_1_2_base_directions_are_refused_by_name(tmp_path: Path) -> None:
    """rdflib has no base direction: dropping it would change the text's meaning."""
    path = tmp_path / "dir.ttl"
    path.write_text('<https://example.org/a> <https://example.org/p> "abc"@ar--rtl .\n')
    with pytest.raises(GraphLoadError) as info:
        graphs.parse_file(path)
    assert str(info.value) == (f'{path}: rdflib cannot hold "abc"@ar--rtl: RDF 1.2 base '
                               "directions are not supported here")
