"""The RDF formats guidegraph reads and writes, defined once.

Each has its short name (``--format``), the file suffixes it is read from, its media type,
pyoxigraph's format and rdflib's parser name (only for the libraries that need rdflib).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox


@dataclass(frozen=True)
class RdfFormat:
    name: str
    ox: ox.RdfFormat
    rdflib: str
    suffixes: tuple[str, ...]
    media_type: str


FORMATS = (
    RdfFormat("turtle", ox.RdfFormat.TURTLE, "turtle", (".ttl",), "text/turtle; charset=utf-8"),
    RdfFormat("ntriples", ox.RdfFormat.N_TRIPLES, "nt", (".nt",), "application/n-triples"),
    RdfFormat("jsonld", ox.RdfFormat.JSON_LD, "json-ld", (".jsonld",), "application/ld+json"),
    RdfFormat("trig", ox.RdfFormat.TRIG, "trig", (".trig",), "application/trig"),
    RdfFormat("nquads", ox.RdfFormat.N_QUADS, "nquads", (".nq",), "application/n-quads"),
    RdfFormat("rdfxml", ox.RdfFormat.RDF_XML, "xml", (".rdf",), "application/rdf+xml"),
)
BY_NAME = {f.name: f for f in FORMATS}
BY_SUFFIX = {s: f for f in FORMATS for s in f.suffixes}
#: Suffixes of knowledge files (ontology, contracts, guidelines): graphs, not datasets.
KNOWLEDGE_SUFFIXES = (".ttl", ".nt", ".jsonld", ".rdf")


def for_path(path: Path | str) -> RdfFormat | None:
    """The format a file's suffix names (None: not an RDF suffix)."""
    return BY_SUFFIX.get(Path(path).suffix.lower())
