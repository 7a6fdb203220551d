"""The content hash of a graph: what the audit log records for every graph a write leaves.

``sha256:`` over the graph's triples as sorted N-Triples lines, after two normalisations:

* **values**: the triples pass through an in-memory Oxigraph store, which keeps literals by
  value (``"01"^^xsd:integer`` becomes ``"1"``, a ``+00:00`` time zone ``Z``), exactly as the
  embedded store keeps them. Without it the hash of a graph about to be written would differ
  from the hash of the same graph read back, and every untouched graph would look edited.
* **blank nodes**: RDFC-1.0 (W3C RDF Dataset Canonicalization, as pyoxigraph implements it)
  relabels them, so the same graph read back under other labels hashes the same. A graph
  without blank nodes is already canonical, and is hashed from its sorted lines directly.

The triples are hashed as triples (the default graph of the canonicalised dataset), not as
quads in their named graph: the log records the graph's name beside its hash, and a graph
exported as N-Triples can then be checked by anyone with an RDFC-1.0 implementation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pyoxigraph as ox

NT = ox.RdfFormat.N_TRIPLES
#: How the log names the default graph of an embedded store (not an IRI, so no named graph
#: can take its place)
DEFAULT_GRAPH = "default graph"
#: The hash recorded for a graph that does not exist (before its first write, after a delete)
ABSENT = "absent"
_HAS_BLANK = "ASK { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }"


def _digest(lines: list[bytes]) -> str:
    lines.sort()
    return "sha256:" + hashlib.sha256(b"".join(line + b"\n" for line in lines)).hexdigest()


def _hash_normalised(store: ox.Store) -> str:
    if store.query(_HAS_BLANK):
        dataset = ox.Dataset(store)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        data = ox.serialize(dataset, format=ox.RdfFormat.N_QUADS)
    else:
        data = store.dump(format=NT, from_graph=ox.DefaultGraph())
    return _digest([line for line in data.splitlines() if line])


def ntriples_hash(data: bytes, *, normalised: bool = False) -> str:
    """The content hash of a graph given as N-Triples. ``normalised``: the text comes from
    an Oxigraph store, whose literals are already kept by value; without blank nodes its
    sorted lines are then hashed as they are (the cheap path for reading a whole store)."""
    if normalised and b"_:" not in data:
        return _digest([line for line in data.splitlines() if line])
    store = ox.Store()
    store.load(data, format=NT)
    return _hash_normalised(store)


def ntriples_hashes(texts: dict[str, bytes]) -> dict[str, str]:
    """The content hash of each graph given as N-Triples as guidegraph writes them (graph
    name -> text; one ``S P O .`` a line), as :func:`ntriples_hash` gives it, for many
    graphs at once: only the lines with a literal go through one in-memory store for all of
    them, which normalises their values. A line of IRIs only is already as a store keeps and
    writes it, so it is hashed as written; for a chunk of saved runs that is three lines in
    four, and a store per graph cost more than the rest of saving them."""
    plain = {g: t for g, t in texts.items() if b"_:" not in t}
    out = {g: ntriples_hash(t) for g, t in texts.items() if g not in plain}  # blank nodes
    iris: dict[str, set[bytes]] = {}
    literals = []
    for g, text in plain.items():
        name = _graph_end(g)
        iri_lines = iris[g] = set()
        for line in text.splitlines():
            if b'"' in line:
                literals.append(_in_graph(line, name))
            elif line.strip():
                iri_lines.add(line.strip())
    store = ox.Store()
    store.load(b"".join(literals), format=ox.RdfFormat.N_QUADS)
    for g in plain:
        data = store.dump(format=NT, from_graph=ox.NamedNode(g))
        out[g] = _digest([*iris[g], *data.splitlines()])
    return out


def as_quads(ntriples: bytes, graph: str) -> bytes:
    """N-Triples as guidegraph writes them (one ``S P O .`` a line, no comments) as N-Quads
    lines in ``graph``."""
    name = _graph_end(graph)
    return b"".join(_in_graph(line, name) for line in ntriples.splitlines() if line.strip())


def _graph_end(graph: str) -> bytes:
    return b" <" + graph.encode() + b"> .\n"


def _in_graph(line: bytes, end: bytes) -> bytes:
    """One ``S P O .`` line as ``S P O <graph> .`` (``end``: the graph part and the dot)."""
    return line.rstrip()[:-1].rstrip() + end


def ntriples_text(triples: Iterable[ox.Triple]) -> bytes:
    """Triples as N-Triples, one a line, as guidegraph writes them."""
    return "".join(f"{t.subject} {t.predicate} {t.object} .\n" for t in triples).encode()


def content_hash(triples: Iterable[ox.Triple]) -> str:
    """The content hash of a graph given as triples (duplicates count once)."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    return _hash_normalised(store)
