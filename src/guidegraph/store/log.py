"""The audit trail: an append-only, hash-chained log of every change to a store.

Each write (a guideline, ontology or case loaded, a reasoning run saved, a SPARQL update
through ``/update``) adds one entry to the log graph: who, when, what, and the content hash
(:mod:`guidegraph.store.hashing`) of every graph the write left. Loads and saves write their
entry in the same transaction as the change; an update's entry follows it (see
:func:`logged_update`). Each entry's hash covers its fields and the previous entry's hash.

``verify`` finds an edited entry (hash mismatch), a deleted one (a gap, a broken chain, or a
graph pointing at a missing entry with ``gg:logEntry``), and, by hashing the stored graphs
again, every graph changed, deleted or added outside the log. A writer with the update token
can still rewrite the whole chain consistently; against that the user keeps the chain head
(``audit --log-head``) elsewhere and checks that the chain still extends it
(``audit --verify-log --expect-head``). No command deletes entries.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox

from guidegraph.clock import timestamp
from guidegraph.store.base import EmbeddedStore
from guidegraph.store.current import copy_problems, refresh_copy
from guidegraph.store.hashing import (
    ABSENT,
    DEFAULT_GRAPH,
    content_hash,
    ntriples_hashes,
    ntriples_text,
)
from guidegraph.store.sparql import UpdateUnreadable, refuse_default_graph_writes
from guidegraph.vocab import GG, LOG_ENTRY_BASE, LOG_GRAPH, RDF_TYPE, XSD

if TYPE_CHECKING:
    from guidegraph.store.base import Store

ACTOR_ENV = "GUIDEGRAPH_ACTOR"
#: ``gg:logFormat`` of entries that record the content hash of every graph they wrote;
#: entries without it predate content hashes
FORMAT = "2"
_FIELDS = ("sequence", "action", "actor", "time", "graph", "subject", "before", "after",
           "previous")


@dataclass(frozen=True)
class GraphState:
    """A graph as a write left it: its content hash after (:data:`ABSENT`: deleted), and,
    for an update, before (``None``: not recorded)."""

    graph: str
    after: str
    before: str | None = None

    def line(self) -> str:
        return f"{self.graph} {'-' if self.before is None else self.before} {self.after}"


@dataclass
class GraphChange:
    action: str  # load-ontology | load-guideline | load-case | reason | update
    graph: str
    subject: str
    before: str
    after: str
    #: further graphs the change wrote, whose content hashes its entry records too
    wrote: tuple[str, ...] = ()
    #: the graph states, when the writer computed them itself (an update)
    states: list[GraphState] | None = None
    #: whether ``graph`` carries a ``gg:logEntry`` link to the entry
    stamp: bool = True


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
    format: str = ""
    states: list[GraphState] = field(default_factory=list)

    def computed_hash(self) -> str:
        text = "\n".join(str(getattr(self, f)) for f in _FIELDS)
        if self.format:  # entries before content hashes keep the hash they were written with
            text += f"\nformat {self.format}" + "".join(
                "\n" + s.line() for s in sorted(self.states, key=lambda s: s.graph))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        if self.action == "update":
            return f"update by {self.actor}"
        return f"{self.action} of {self.subject}"

    def head(self) -> str:
        """This entry as a chain head to keep: ``SEQUENCE:HASH``."""
        return f"{self.sequence}:{self.hash}"


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
    """Every log entry, in sequence order, with the graph states it recorded."""
    result = store.query(f"""PREFIX gg: <{GG}>
        SELECT ?e ?sequence ?action ?actor ?time ?graph ?subject ?before ?after ?previous ?hash
               ?format
        WHERE {{ GRAPH <{LOG_GRAPH}> {{ ?e a gg:LogEntry .
          OPTIONAL {{ ?e gg:sequence ?sequence }} OPTIONAL {{ ?e gg:logAction ?action }}
          OPTIONAL {{ ?e gg:actor ?actor }} OPTIONAL {{ ?e gg:loggedAt ?time }}
          OPTIONAL {{ ?e gg:changedGraph ?graph }} OPTIONAL {{ ?e gg:changedSubject ?subject }}
          OPTIONAL {{ ?e gg:hashBefore ?before }} OPTIONAL {{ ?e gg:hashAfter ?after }}
          OPTIONAL {{ ?e gg:previousEntryHash ?previous }} OPTIONAL {{ ?e gg:entryHash ?hash }}
          OPTIONAL {{ ?e gg:logFormat ?format }}
        }} }}""")
    states: dict[str, list[GraphState]] = {}
    rows = store.query(f"""PREFIX gg: <{GG}>
        SELECT ?e ?graph ?after ?before WHERE {{ GRAPH <{LOG_GRAPH}> {{
          ?e gg:wroteGraph ?w . ?w gg:graphName ?graph ; gg:contentHashAfter ?after .
          OPTIONAL {{ ?w gg:contentHashBefore ?before }} }} }}""")
    for e, graph, after, before in rows.table.rows:
        states.setdefault(e.value, []).append(GraphState(
            graph.value, after.value, before.value if before is not None else None))
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
            after=text("after"), previous=text("previous"), hash=text("hash"),
            format=text("format"), states=states.get(vals["e"].value, [])))
    return sorted(entries, key=lambda e: (e.sequence, e.iri))


#: Held from reading the chain head to writing the entries after it: two writers in one
#: process (the server's request threads) would otherwise both chain after the same head and
#: fork the log. Writers in other processes are kept out by the store (an embedded store
#: opens for one process); two processes writing one remote engine are not (docs/security.md).
APPEND_LOCK = threading.RLock()


def chain_head(store: Store) -> tuple[int, str]:
    """The sequence and hash of the last entry; (0, "") for an empty log."""
    result = store.query(f"""PREFIX gg: <{GG}>
        SELECT ?sequence ?hash WHERE {{ GRAPH <{LOG_GRAPH}> {{
          ?e gg:sequence ?sequence ; gg:entryHash ?hash }} }}
        ORDER BY DESC(?sequence) LIMIT 1""")
    if not result.table.rows:
        return 0, ""
    sequence, digest = result.table.rows[0]
    return int(sequence.value), digest.value


def _entry_triples(entry: Entry) -> list[ox.Triple]:
    node = ox.NamedNode(entry.iri)
    triples = [
        ox.Triple(node, ox.NamedNode(RDF_TYPE), _q("LogEntry")),
        ox.Triple(node, _q("sequence"), ox.Literal(str(entry.sequence),
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
        ox.Triple(node, _q("logFormat"), ox.Literal(entry.format)),
    ]
    for n, state in enumerate(sorted(entry.states, key=lambda s: s.graph), 1):
        wrote = ox.NamedNode(f"{entry.iri}/graph/{n}")
        triples += [ox.Triple(node, _q("wroteGraph"), wrote),
                    ox.Triple(wrote, _q("graphName"), ox.Literal(state.graph)),
                    ox.Triple(wrote, _q("contentHashAfter"), ox.Literal(state.after))]
        if state.before is not None:
            triples.append(ox.Triple(wrote, _q("contentHashBefore"), ox.Literal(state.before)))
    return triples


def write_logged(store: Store, changes: list[GraphChange],
                 graphs: dict[str, list[ox.Triple]] | None = None, *,
                 append: dict[str, list[ox.Triple]] | None = None,
                 actor: str | None = None, texts: dict[str, bytes] | None = None) -> None:
    """Write ``graphs`` (each replaced) and ``append`` graphs (only added to) with one log
    entry per change, chained after the current head.

    Each entry records the content hash of the graphs its change wrote as they will be
    stored: a replaced graph as given, an appended one with what it held already.
    ``texts``: further graphs given as N-Triples (each replaced), written and hashed from
    the text: a native parse, cheaper than building a term object per triple. How they are
    written is the store's :meth:`~guidegraph.store.base.Store.write_graphs`; the entries,
    and each graph's ``gg:logEntry`` link to its entry, go with the last write, so an entry
    never names a graph that is not written whole and no graph names an entry that is not
    written."""
    graphs = {g: list(ts) for g, ts in (graphs or {}).items()}
    append = {g: list(ts) for g, ts in (append or {}).items()}
    texts = texts or {}
    now = timestamp()
    who = actor or default_actor()
    with APPEND_LOCK:  # head read and entries written as one step
        head_seq, head_hash = chain_head(store)
        stamped: dict[str, list[ox.Triple]] = {}  # stamps of text graphs, written with the log
        for offset, change in enumerate(changes, 1):
            if change.stamp:
                stamp = ox.Triple(ox.NamedNode(change.graph), _q("logEntry"),
                                  ox.NamedNode(f"{LOG_ENTRY_BASE}{head_seq + offset}"))
                if change.graph in texts:
                    stamped.setdefault(change.graph, []).append(stamp)
                    continue
                (graphs if change.graph in graphs else append)[change.graph].append(stamp)
        hashes = ntriples_hashes({g: t + ntriples_text(stamped.get(g, []))
                                  for g, t in texts.items()})
        for g, ts in graphs.items():
            hashes[g] = content_hash(ts)
        for g, ts in append.items():
            hashes[g] = content_hash([*store.graph_triples(g), *ts])
        log: list[ox.Triple] = []
        for offset, change in enumerate(changes, 1):
            seq = head_seq + offset
            states = change.states if change.states is not None else [
                GraphState(g, hashes[g]) for g in dict.fromkeys((change.graph, *change.wrote))]
            entry = Entry(iri=f"{LOG_ENTRY_BASE}{seq}", sequence=seq, action=change.action,
                          actor=who, time=now, graph=change.graph, subject=change.subject,
                          before=change.before, after=change.after, previous=head_hash,
                          hash="", format=FORMAT, states=states)
            entry.hash = entry.computed_hash()
            head_hash = entry.hash
            log += _entry_triples(entry)
        store.write_graphs(graphs, texts=texts, append={**append, **stamped, LOG_GRAPH: log})


def logged_update(store: Store, text: str, actor: str, *,
                  apply: Callable[[str], None] | None = None,
                  stage: Callable[[str], None] = lambda _name: None) -> None:
    """Apply a user's SPARQL update and log it: who, when, the update text, and the content
    hash before and after of every graph it changed (the log graph included, when an update
    rewrites the log itself).

    An arbitrary update cannot be combined with its entry in one request, because the entry
    holds hashes of what the update leaves. So, under :data:`APPEND_LOCK`: every graph is
    hashed, the update applied, every graph hashed again, and the entry appended at once. If
    the process dies between the update and the entry, the change stays unlogged and
    ``verify`` reports each graph it touched as changed outside the log. ``stage`` is told
    "update" before the update and "log" after it (the store worker moves its time limit).

    Where the default graph is the store's copy of the current knowledge, an update that
    would write it, or the copy's record, is refused before anything runs; the copy is
    rewritten right after the update (it may have changed a graph the copy holds, or deleted
    the record through ``GRAPH ?g``), before the graphs are hashed for the entry."""
    copy = store.knowledge_copy() is not None
    if copy:
        try:
            refuse_default_graph_writes(text)
        except UpdateUnreadable:
            # Not valid SPARQL at all: say so in the engine's words (line and column), from
            # its parse, applied to an empty store of its own
            EmbeddedStore(None).update(text)
            raise
    with APPEND_LOCK:
        before = store.graph_hashes(include_log=True)
        stage("update")
        (apply or store.update)(text)
        stage("log")
        if copy:  # before hashing: the copy's record is back, and readers see the new copy
            refresh_copy(store, force=True, ours=True)
        after = store.graph_hashes(include_log=True)
        states = [GraphState(g, after.get(g, ABSENT), before.get(g, ABSENT))
                  for g in sorted(before.keys() | after.keys()) if before.get(g) != after.get(g)]
        digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        write_logged(store, [GraphChange(action="update", graph="", subject=text, before="",
                                    after=digest, states=states, stamp=False)], actor=actor)


# ----------------------------------------------------------------------------------------
# Checking
# ----------------------------------------------------------------------------------------
_HEAD = re.compile(r"([1-9][0-9]*):(sha256:[0-9a-f]{64})")


def parse_head(text: str) -> tuple[int, str]:
    """A chain head as ``audit --log-head`` prints it: ``SEQUENCE:sha256:HEX``."""
    match = _HEAD.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"--expect-head {text[:80]!r}: not a chain head; allowed: "
                         "SEQUENCE:sha256:HEX as `guidegraph audit --log-head` prints it "
                         "(a sequence from 1 and 64 hexadecimal digits)")
    return int(match.group(1)), match.group(2)


@dataclass
class LogReport:
    """What ``verify`` found: problems (exit 1) and notes (what could not be checked)."""

    entries: list[Entry]
    problems: list[str]
    notes: list[str]

    @property
    def head(self) -> Entry | None:
        return self.entries[-1] if self.entries else None


def _ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}" if a == b else f"{a} to {b}" for a, b in spans)


def check(store: Store, expect_head: tuple[int, str] | None = None) -> LogReport:
    """Check the entries, the chain, and every stored graph against the log's account of
    it; with ``expect_head``, also that the chain still holds that head at its position."""
    problems: list[str] = []
    notes: list[str] = []
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
            problems.append(f"entry {entry.sequence} ({entry.describe()}) was edited: its "
                            "fields no longer match its hash")
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
    if expect_head is not None:
        problems += _check_head(entries, *expect_head)
    _check_contents(store, entries, problems, notes)
    problems += copy_problems(store)
    return LogReport(entries, problems, notes)


def _check_head(entries: list[Entry], sequence: int, digest: str) -> list[str]:
    expected = f"{sequence}:{digest}"
    found = [e for e in entries if e.sequence == sequence]
    if not found:
        last = entries[-1].sequence if entries else 0
        return [f"the chain no longer extends the expected head {expected}: the log holds no "
                f"entry {sequence} (its last is {last}); it was truncated or rewritten"]
    if all(e.hash != digest for e in found):
        return [f"the chain no longer extends the expected head {expected}: entry {sequence} "
                f"now has hash {found[0].hash}; the chain was rewritten since that head was "
                "taken"]
    return []


def _check_contents(store: Store, entries: list[Entry], problems: list[str],
                    notes: list[str]) -> None:
    """Replay the graph states the entries recorded, then hash every stored graph."""
    legacy = [e.sequence for e in entries if not e.format]
    legacy_graphs = {e.graph for e in entries if not e.format and e.graph}  # named then
    expected: dict[str, tuple[str, int]] = {}  # graph -> (hash, entry sequence)
    for entry in entries:
        for state in entry.states:
            if state.graph == LOG_GRAPH:
                problems.append(f"entry {entry.sequence} ({entry.describe()}) rewrote the log "
                                "graph itself")
                continue
            last = expected.get(state.graph)
            if state.before is not None and last is not None and state.before != last[0]:
                problems.append(
                    f"{_name(state.graph)} was changed outside the log before entry "
                    f"{entry.sequence}: that entry found content hash {state.before}, the log "
                    f"last recorded {last[0]} (entry {last[1]})")
            elif (state.before not in (None, ABSENT) and last is None
                  and state.graph not in legacy_graphs and not legacy):
                problems.append(
                    f"{_name(state.graph)} was added outside the log: entry "
                    f"{entry.sequence} found it (content hash {state.before}) though no entry "
                    "before wrote it")
            expected[state.graph] = (state.after, entry.sequence)
    if legacy:
        notes.append(f"entr{'y' if len(legacy) == 1 else 'ies'} {_ranges(legacy)} predate"
                     f"{'s' if len(legacy) == 1 else ''} content hashes: the contents of the "
                     "graphs written then are not checked")
    actual = store.graph_hashes()
    for graph, (digest, seq) in sorted(expected.items()):
        if digest == ABSENT:
            if graph in actual:
                problems.append(f"{_name(graph)} was added outside the log: entry {seq} "
                                "recorded its deletion")
        elif graph not in actual:
            problems.append(f"{_name(graph)} was deleted outside the log: entry {seq} "
                            f"recorded it with content hash {digest}")
        elif actual[graph] != digest:
            problems.append(f"{_name(graph)} was changed outside the log: its content hash "
                            f"is {actual[graph]}, entry {seq} recorded {digest}")
    unchecked = sorted(actual.keys() - expected.keys())
    if legacy and unchecked:
        # Entries before content hashes named one graph each (not the case and agent graphs
        # a save wrote beside the run), so a graph no entry names may be theirs.
        notes.append(f"{len(unchecked)} graph(s) last written before content hashes, or named "
                     "by no entry (older entries did not name every graph they wrote), are not "
                     "checked: " + ", ".join(_name(g).removeprefix("graph ") for g in unchecked))
    elif unchecked:
        problems += [f"{_name(g)} was added outside the log: no entry wrote it"
                     for g in unchecked]


def changed_since_written(store: Store, graph: str) -> list[str]:
    """Why a stored graph is no longer what its logged writes left it (empty when it is):
    updates logged after it was written, and a change outside the log. Read
    before a stored run is explained, so a rewritten run is not shown as the reasoner's."""
    rows = store.query(f"""PREFIX gg: <{GG}>
        SELECT ?sequence ?action ?actor ?time ?after WHERE {{ GRAPH <{LOG_GRAPH}> {{
          ?e gg:wroteGraph ?w ; gg:sequence ?sequence ; gg:logAction ?action ;
             gg:actor ?actor ; gg:loggedAt ?time .
          ?w gg:graphName ?name ; gg:contentHashAfter ?after }} }}
        ORDER BY ?sequence""", bindings={"name": ox.Literal(graph)}).table.rows
    if not rows:
        return []  # written before content hashes, or by no entry: nothing to hold it to
    out = [f"{_name(graph)} was changed after it was written: entry {seq.value} (update by "
           f"{actor.value}, {time.value})" for seq, action, actor, time, _after in rows[1:]
           if action.value == "update"]
    recorded, seq = rows[-1][4].value, rows[-1][0].value
    if store.graph_hash(graph) != recorded:
        out.append(f"{_name(graph)} was changed outside the log: it no longer has the content "
                   f"hash entry {seq} recorded")
    return out


def _name(graph: str) -> str:
    return "the default graph" if graph == DEFAULT_GRAPH else f"graph <{graph}>"
