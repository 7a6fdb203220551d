"""Guideline and ontology versions in the store, and the one decision of which to reason with.

A version is a snapshot graph named by its content hash; the current one of each guideline is
the snapshot loaded last. Loading writes snapshots and their log entries in one transaction,
then rewrites the default graph's copy of the current versions in a second one
(:mod:`guidegraph.store.current`; a copy that does not name the current graphs is never read).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from guidegraph.clock import timestamp
from guidegraph.errors import GraphLoadError
from guidegraph.knowledge.loading import (
    GuidelineInfo,
    Knowledge,
    KnowledgePart,
    file_identity,
    read_parts,
)
from guidegraph.store.base import Store, StoreError
from guidegraph.store.current import current_dataset as current_dataset
from guidegraph.store.current import current_snapshots as current_snapshots
from guidegraph.store.current import refresh_copy
from guidegraph.store.current import snapshots as snapshots
from guidegraph.store.hashing import content_hash
from guidegraph.store.log import GraphChange, write_logged
from guidegraph.vocab import GG, ONTOLOGY_GRAPH, RDF_TYPE, SKOS_NOTATION, SNAPSHOT_BASE, XSD

_META_PREDICATES = {GG + "loadedAt", GG + "snapshotKind"}


def _gg(name: str) -> ox.NamedNode:
    return ox.NamedNode(GG + name)


def load_parts(store: Store, parts: list[KnowledgePart], *,
               cases: list[tuple[str, str, list[ox.Triple]]] | None = None,
               actor: str | None = None, rewrite_copy: bool = False
               ) -> list[tuple[str, bool]]:
    """Store ontology and guideline versions, and ``cases`` (graph, case IRI, triples),
    with their audit-log entries, in one transaction.

    Loading is idempotent: a version that is already the current one of its guideline
    (or the current ontology) and a case graph that already holds the same content are
    left alone, with no new ``gg:loadedAt`` and no entry. A superseded version loaded
    again becomes current again (a new ``gg:loadedAt``, logged). Returns the graph name
    of each part, then of each case graph, with whether it was written.

    The default graph's copy of the current versions is rewritten when a version was
    written or ``rewrite_copy`` (the ``load`` command: it also mends a copy edited by hand);
    else left alone if it copies the current graphs (a rewrite copies every current triple,
    too much for every `reason --save`)."""
    now = ox.Literal(timestamp(),
                     datatype=ox.NamedNode(XSD + "dateTime"))
    current = {(s["kind"], s["of"]): s["hash"] for s in current_snapshots(store)}
    changes: list[GraphChange] = []
    snapshot_graphs: dict[str, list[ox.Triple]] = {}
    names: list[tuple[str, bool]] = []
    for part in parts:
        digest = part.content_hash.split(":", 1)[-1]
        name = (ONTOLOGY_GRAPH + digest) if part.kind == "ontology" else (
            SNAPSHOT_BASE + digest)
        of = part.info.iri if part.info else ""
        if current.get((part.kind, of)) == part.content_hash or name in snapshot_graphs:
            names.append((name, False))
            continue
        node = ox.NamedNode(name)
        meta = [
            ox.Triple(node, _gg("loadedAt"), now),
            ox.Triple(node, _gg("contentHash"), ox.Literal(part.content_hash)),
            ox.Triple(node, _gg("snapshotKind"), ox.Literal(part.kind)),
        ]
        if part.info is not None:
            meta += [
                ox.Triple(node, ox.NamedNode(RDF_TYPE), _gg("GuidelineSnapshot")),
                ox.Triple(node, _gg("snapshotOf"), ox.NamedNode(part.info.iri)),
                ox.Triple(node, _gg("version"), ox.Literal(part.info.version)),
                ox.Triple(node, ox.NamedNode(SKOS_NOTATION), ox.Literal(part.info.id)),
            ]
        snapshot_graphs[name] = [*part.triples, *meta]
        names.append((name, True))
        changes.append(GraphChange(
            action=f"load-{part.kind}", graph=name, subject=of or name,
            before=current.get((part.kind, of), ""), after=part.content_hash))
    case_graphs: dict[str, list[ox.Triple]] = {}
    case_names: dict[str, bool] = {}
    for graph, subject, triples in cases or []:
        after = content_hash(triples)
        case_names[graph] = after != store.graph_hash(graph)
        if not case_names[graph]:
            continue  # the same facts are stored already
        case_graphs[graph] = triples
        changes = [c for c in changes if c.graph != graph]  # a case given twice: last
        changes.append(GraphChange(action="load-case", graph=graph, subject=subject,
                              before="", after=after, stamp=False))
    if changes:
        # Snapshot graphs are named by their content, so adding to an existing one only
        # adds the new gg:loadedAt: they are appended to, never replaced, and the
        # embedded store can then write in bulk.
        write_logged(store, changes, case_graphs, append=snapshot_graphs, actor=actor)
    refresh_copy(store, force=rewrite_copy or any(
        written for _name, written in names[:len(parts)]))  # a version written may now be current
    return [*names, *case_names.items()]


def stored_knowledge(store: Store, snaps: list[dict[str, str]] | None = None) -> Knowledge:
    """The current ontology and guideline versions (``snaps``: as read already), as reasoner
    knowledge."""
    parts = []
    for snap in current_snapshots(store) if snaps is None else snaps:
        triples = [t for t in store.graph_triples(snap["g"])
                   if not (t.subject.value == snap["g"]
                           and t.predicate.value in _META_PREDICATES)]
        info = None
        if snap["kind"] == "guideline":
            info = GuidelineInfo(iri=snap["of"], id=snap["id"], version=snap["version"],
                                 title="", content_hash=snap["hash"], files=())
        parts.append(KnowledgePart(snap["kind"], triples, snap["hash"], info))
    if not any(p.kind == "ontology" for p in parts):
        raise StoreError(f"store {store.location} holds no ontology: run `guidegraph load` "
                         "first")
    return Knowledge.from_parts(parts)


@dataclass(frozen=True)
class KnowledgeSource:
    """Which knowledge to reason with: its identity (the content hash of every part, which a
    cache of reasoners is keyed by), whether it is the store's, and how to build it."""

    key: tuple[str, ...]
    stored: bool
    build: Callable[[], Knowledge]
    #: Parts read from files (not the store's), read on first call: runs saved with them
    #: store them first.
    read_files: Callable[[], tuple[KnowledgePart, ...]] | None = None
    #: The store's graphs holding it (its current snapshots), when it is the store's.
    graphs: tuple[str, ...] = ()
    #: Where each part's files are (files, not the store's): with ``key``, what a compiled
    #: plan of this knowledge is kept under.
    places: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[KnowledgePart, ...]:
        return self.read_files() if self.read_files is not None else ()


def current_knowledge(store: Store | None, guidelines: Sequence[Path | str] = (), *,
                      shipped: Callable[[], Sequence[KnowledgePart]] = read_parts
                      ) -> KnowledgeSource:
    """The one decision of which knowledge to use, for the CLI, the endpoint, health and the
    audit pages alike: the store's current versions when it holds an ontology and no
    guideline files are named; else those files (by default the shipped ones, as
    ``shipped`` reads them: a server reads them once). Files are named by their content
    hashes without being parsed, and parsed only when the knowledge is built or stored."""
    if store is not None and not guidelines:
        snaps = current_snapshots(store)
        if any(s["kind"] == "ontology" for s in snaps):
            return KnowledgeSource(tuple(s["hash"] for s in snaps), True,
                                   lambda: stored_knowledge(store, snaps),
                                   graphs=tuple(sorted(s["g"] for s in snaps)))
    paths = [Path(g) for g in guidelines] if guidelines else None
    read = functools.cache(lambda: tuple(read_parts(paths) if paths else shipped()))
    key, places = _identity(paths) if paths or shipped is read_parts else (None, ())
    if key is None:  # the caller's parts name themselves; a bad file is reported by reading
        key = tuple(p.content_hash for p in read())
    return KnowledgeSource(key, False, lambda: Knowledge.from_parts(list(read())), read,
                           places=places)


def _identity(paths: list[Path] | None) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """The files' content hashes and places, or (None, ()) when one cannot be read."""
    try:
        identity = file_identity(paths)
    except (OSError, GraphLoadError):
        return None, ()
    return (tuple(h for h, _ in identity),
            tuple(str(f.resolve()) for _, files in identity for f in files))


def store_knowledge_of(store: Store, source: KnowledgeSource, *,
                       actor: str | None = None) -> None:
    """Runs refer to the knowledge versions they used: store those first when they came from
    files (loading is idempotent, so a version stored already adds nothing)."""
    if not source.stored and source.files:
        load_parts(store, list(source.files), actor=actor)
