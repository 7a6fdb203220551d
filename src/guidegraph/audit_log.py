"""The audit trail: an append-only, hash-chained log of every change to a store.

Each write (a guideline or ontology version loaded, a reasoning run saved) adds one entry
to the log graph in the same transaction as the change itself: who, when, what, and the
content hash before and after. Each entry's hash covers its fields and the previous entry's
hash, and each written graph points at its entry (``gg:logEntry``), so ``verify`` finds an
edited entry (hash mismatch), a deleted one (a gap or a broken chain) and a truncated tail
(a graph pointing at a missing entry). No command deletes entries.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyoxigraph as ox

from guidegraph.knowledge import GG

if TYPE_CHECKING:
    from guidegraph.store import Store

LOG_GRAPH = "https://w3id.org/guidegraph/graph/log"
ENTRY_BASE = "https://w3id.org/guidegraph/log/entry/"
PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
ACTOR_ENV = "GUIDEGRAPH_ACTOR"
_FIELDS = ("sequence", "action", "actor", "time", "graph", "subject", "before", "after",
           "previous")


@dataclass
class Change:
    action: str  # load-ontology | load-guideline | reason
    graph: str
    subject: str
    before: str
    after: str


@dataclass
class Entry:
    iri: str
    sequence: int
    action: str
    actor: str
    time: str
    graph: str
    subject: str
    before: str
    after: str
    previous: str
    hash: str

    def computed_hash(self) -> str:
        text = "\n".join(str(getattr(self, f)) for f in _FIELDS)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def default_actor() -> str:
    """``$GUIDEGRAPH_ACTOR``, else the operating-system user."""
    if os.environ.get(ACTOR_ENV):
        return os.environ[ACTOR_ENV]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _q(name: str) -> ox.NamedNode:
    return ox.NamedNode(GG + name)


def read_log(store: Store) -> list[Entry]:
    """Every log entry, in sequence order."""
    result = store.query(f"""PREFIX gg: <{GG}>
        SELECT ?e ?sequence ?action ?actor ?time ?graph ?subject ?before ?after ?previous ?hash
        WHERE {{ GRAPH <{LOG_GRAPH}> {{ ?e a gg:LogEntry .
          OPTIONAL {{ ?e gg:sequence ?sequence }} OPTIONAL {{ ?e gg:logAction ?action }}
          OPTIONAL {{ ?e gg:actor ?actor }} OPTIONAL {{ ?e gg:loggedAt ?time }}
          OPTIONAL {{ ?e gg:changedGraph ?graph }} OPTIONAL {{ ?e gg:changedSubject ?subject }}
          OPTIONAL {{ ?e gg:hashBefore ?before }} OPTIONAL {{ ?e gg:hashAfter ?after }}
          OPTIONAL {{ ?e gg:previousEntryHash ?previous }} OPTIONAL {{ ?e gg:entryHash ?hash }}
        }} }}""")
    entries = []
    for row in result.table.rows:
        vals = dict(zip(result.table.variables, row, strict=True))

        def text(key: str, vals: dict = vals) -> str:
            return vals[key].value if vals[key] is not None else ""

        seq = text("sequence")
        entries.append(Entry(
            iri=vals["e"].value, sequence=int(seq) if seq.isdigit() else -1,
            action=text("action"), actor=text("actor"), time=text("time"),
            graph=text("graph"), subject=text("subject"), before=text("before"),
            after=text("after"), previous=text("previous"), hash=text("hash")))
    return sorted(entries, key=lambda e: (e.sequence, e.iri))


#: Held from reading the chain head to writing the entries after it: two writers in one
#: process (the server's request threads) would otherwise both chain after the same head and
#: fork the log. Writers in other processes are kept out by the store (an embedded store
#: opens for one process); two processes writing one remote engine are not (docs/security.md).
APPEND_LOCK = threading.RLock()


def log_graph_triples(store: Store, changes: list[Change], actor: str | None = None
                      ) -> tuple[dict[str, list[ox.Triple]], list[ox.Triple]]:
    """New entries chained after the current head: (log graph triples, one ``gg:logEntry``
    stamp triple per change, for the changed graph to carry). Call it, and write what it
    returns, under :data:`APPEND_LOCK`."""
    entries = read_log(store)
    head_seq = entries[-1].sequence if entries else 0
    head_hash = entries[-1].hash if entries else ""
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    who = actor or default_actor()
    triples: list[ox.Triple] = []
    stamps: list[ox.Triple] = []
    for offset, change in enumerate(changes, 1):
        seq = head_seq + offset
        entry = Entry(iri=f"{ENTRY_BASE}{seq}", sequence=seq, action=change.action,
                      actor=who, time=now, graph=change.graph, subject=change.subject,
                      before=change.before, after=change.after, previous=head_hash, hash="")
        entry.hash = entry.computed_hash()
        head_hash = entry.hash
        node = ox.NamedNode(entry.iri)
        triples += [
            ox.Triple(node, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                      _q("LogEntry")),
            ox.Triple(node, _q("sequence"), ox.Literal(str(seq),
                                                       datatype=ox.NamedNode(XSD + "integer"))),
            ox.Triple(node, _q("logAction"), ox.Literal(entry.action)),
            ox.Triple(node, _q("actor"), ox.Literal(entry.actor)),
            ox.Triple(node, _q("loggedAt"), ox.Literal(entry.time)),
            ox.Triple(node, _q("changedGraph"), ox.Literal(entry.graph)),
            ox.Triple(node, _q("changedSubject"), ox.Literal(entry.subject)),
            ox.Triple(node, _q("hashBefore"), ox.Literal(entry.before)),
            ox.Triple(node, _q("hashAfter"), ox.Literal(entry.after)),
            ox.Triple(node, _q("previousEntryHash"), ox.Literal(entry.previous)),
            ox.Triple(node, _q("entryHash"), ox.Literal(entry.hash)),
        ]
        stamps.append(ox.Triple(ox.NamedNode(change.graph), _q("logEntry"), node))
    return {LOG_GRAPH: triples}, stamps


def verify(store: Store) -> list[str]:
    """Problems with the log; empty when every entry is intact and the chain is whole."""
    problems: list[str] = []
    entries = read_log(store)
    previous_hash, previous_seq = "", 0
    for entry in entries:
        if entry.sequence == previous_seq:
            problems.append(f"entry {entry.sequence} appears twice: two writers forked the "
                            "chain or an entry was copied")
        elif entry.sequence > previous_seq + 1:
            gap = (f"{previous_seq + 1}" if entry.sequence == previous_seq + 2
                   else f"{previous_seq + 1} to {entry.sequence - 1}")
            problems.append(f"entry {gap} is missing: deleted from the log")
        if entry.hash != entry.computed_hash():
            problems.append(f"entry {entry.sequence} ({entry.action} of {entry.subject}) was "
                            "edited: its fields no longer match its hash")
        if entry.previous != previous_hash:
            problems.append(f"entry {entry.sequence} does not follow the entry before it: the "
                            "chain is broken (an earlier entry was edited or deleted)")
        previous_hash, previous_seq = entry.hash, entry.sequence
    known = {e.iri for e in entries}
    stamps = store.query(f"""PREFIX gg: <{GG}>
        SELECT DISTINCT ?g ?e WHERE {{ GRAPH ?g {{ ?g gg:logEntry ?e }} }}""")
    for graph, entry in stamps.table.rows:
        if entry.value not in known:
            problems.append(f"graph <{graph.value}> names log entry <{entry.value}>, which is "
                            "missing: the log was truncated or an entry deleted")
    return problems
