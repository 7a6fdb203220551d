"""Strict loading of RDF files into rdflib graphs.

rdflib accepts a good deal of invalid Turtle, so every file is parsed by pyoxigraph,
which rejects it, and the triples it read become the rdflib graph the libraries that
need one use (pySHACL, SPARQL via rdflib): one strict parse in native code, where
parsing again with rdflib's own parser took most of validating a large guideline
(23 s of 33 s at 10,000 recommendations). ``owl:imports`` is never
followed: what is validated or reasoned over is exactly the files named, and
nothing reaches the network. Knowledge files (:func:`load_files`) go further and refuse
``owl:imports`` of a non-local IRI, and RDF/XML with a DOCTYPE is refused before either
parser reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyoxigraph
import rdflib

from guidegraph.errors import GraphLoadError
from guidegraph.knowledge.loading import rdf_files, refuse_doctype, refuse_imports
from guidegraph.rdf_formats import BY_NAME, KNOWLEDGE_SUFFIXES, for_path
from guidegraph.vocab import OWL_IMPORTS

_OWL_IMPORTS = rdflib.URIRef(OWL_IMPORTS)


def _formats(path: Path) -> tuple[pyoxigraph.RdfFormat, str]:
    """The file's format by suffix; a file named with any other suffix is read as Turtle."""
    fmt = for_path(path)
    if fmt is None or fmt.suffixes[0] not in KNOWLEDGE_SUFFIXES:
        fmt = BY_NAME["turtle"]
    return fmt.ox, fmt.rdflib


def parse_file(path: Path | str) -> rdflib.Graph:
    """Parse one RDF file strictly and return it as an rdflib graph.

    Raises GraphLoadError naming the file and the parser's message when the file
    is missing, unreadable or not valid RDF.
    """
    path = Path(path)
    if not path.is_file():
        reason = "is a directory, not a file" if path.is_dir() else "no such file"
        raise GraphLoadError(path, reason)
    ox_format, rdflib_format = _formats(path)
    # The same base IRI for both parsers, so relative IRIs resolve identically.
    base = path.resolve().as_uri()
    if ox_format == pyoxigraph.RdfFormat.RDF_XML:
        try:
            refuse_doctype(path.read_bytes(), path)
        except OSError as exc:
            raise GraphLoadError(path, f"cannot read: {exc}") from exc
    try:
        parsed = pyoxigraph.parse(path=str(path), format=ox_format, base_iri=base)
        quads = list(parsed)
    except SyntaxError as exc:
        raise GraphLoadError(path, f"invalid {rdflib_format.title()}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise GraphLoadError(path, f"cannot read: {exc}") from exc
    return _graph(path, quads, getattr(parsed, "prefixes", {}))


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _graph(path: Path, quads: list[pyoxigraph.Quad], prefixes: dict[str, str]
           ) -> rdflib.Graph:
    """The triples pyoxigraph parsed as an rdflib graph, as rdflib's parser builds it: IRIs,
    literals by lexical form (a simple literal without a datatype), each of the file's
    blank nodes a fresh one, and the file's prefixes bound."""
    graph = rdflib.Graph()
    iris: dict[str, rdflib.URIRef] = {}
    blanks: dict[str, rdflib.BNode] = {}

    def term(node: object) -> rdflib.term.Node:
        if isinstance(node, pyoxigraph.NamedNode):
            iri = iris.get(node.value)
            if iri is None:
                iri = iris[node.value] = rdflib.URIRef(node.value)
            return iri
        if isinstance(node, pyoxigraph.BlankNode):
            return blanks.setdefault(node.value, rdflib.BNode())
        if isinstance(node, pyoxigraph.Literal):
            if getattr(node, "direction", None):
                raise GraphLoadError(path, f"rdflib cannot hold {str(node)[:80]}: RDF 1.2 "
                                     "base directions are not supported here")
            if node.language:
                return rdflib.Literal(node.value, lang=node.language)
            datatype = node.datatype.value
            return rdflib.Literal(node.value, datatype=None if datatype == _XSD_STRING
                                  else term(node.datatype))
        raise GraphLoadError(path, f"rdflib cannot hold {str(node)[:80]}: RDF 1.2 triple "
                             "terms are not supported here")

    add = graph.add
    for quad in quads:
        add((term(quad.subject), term(quad.predicate), term(quad.object)))
    for prefix, namespace in prefixes.items():
        graph.bind(prefix, namespace)
    return graph


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Turn files and folders into a sorted list of RDF files (folders recursively).

    Folders are expanded so that users can pass a guideline folder; files are kept
    as given, even with an unknown suffix, so that a mistyped name fails loudly.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(rdf_files(p))
        else:
            out.append(p)
    return out


def load_files(paths: Iterable[Path | str]) -> list[tuple[Path, rdflib.Graph]]:
    """Parse each knowledge file on its own, keeping which graph came from which file.

    ``owl:imports`` of a non-local IRI is refused here, as by knowledge loading, so
    ``validate`` and ``reason`` agree on what a guideline may say.
    """
    loaded = []
    for path in expand_paths(paths):
        graph = parse_file(path)
        refuse_imports((str(o) for o in graph.objects(None, _OWL_IMPORTS)), path)
        loaded.append((path, graph))
    return loaded
