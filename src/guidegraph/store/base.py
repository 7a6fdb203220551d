"""Where guidelines, cases and reasoning runs are kept: an embedded Oxigraph store on disk
(the default) or any SPARQL 1.1 engine over HTTP.

Both speak the same three operations: a SPARQL query, a SPARQL update, and reading a named
graph. Every write is one SPARQL update request (``DROP SILENT GRAPH …; INSERT DATA …``),
which Oxigraph applies as one transaction, so a failed or killed write leaves the previous
state whole. Graphs:

* ``…/graph/ontology/<hash>``: ontology, concept schemes and case contracts;
* ``…/snapshot/<hash>``: one guideline version, named by the SHA-256 of its files;
* ``…/graph/case/<hash>``: one case's facts;
* ``…/run/<hash>``: one reasoning run's PROV-O record (the run IRI).

Versions are never overwritten: the current version of a guideline is the snapshot loaded
last (``gg:loadedAt``), so older runs keep the exact guideline they used.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from guidegraph.errors import GuidegraphError
from guidegraph.store.hashing import ABSENT, DEFAULT_GRAPH, as_quads, ntriples_hash
from guidegraph.store.sparql import HIDDEN_TOKENS, QuerySyntaxError, query_form, refuse_unsafe
from guidegraph.vocab import (
    COPIES_GRAPH,
    COPY_GRAPH,
    KNOWLEDGE_COPY,
    LOG_GRAPH,
    NO_GRAPH,
    RDF_TYPE,
    SD,
    XSD,
)

STORE_ENV = "GUIDEGRAPH_STORE"


class StoreError(GuidegraphError):
    """The store cannot be opened, read or written."""

    exit_code = 2


def default_store_path() -> Path:
    """``$GUIDEGRAPH_STORE``, else ``$XDG_DATA_HOME/guidegraph/store`` (~/.local/share)."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "guidegraph" / "store"


# ----------------------------------------------------------------------------------------
# Binding values into a query
# ----------------------------------------------------------------------------------------
_STRIP = re.compile(HIDDEN_TOKENS)


def _blank(match: re.Match) -> str:
    return " " * len(match.group(0))


def bind_values(text: str, bindings: dict) -> str:
    """Bind variables with a VALUES block opening the query's WHERE group.

    A VALUES block inside the group binds before evaluation (unlike a trailing VALUES, which
    SPARQL joins after aggregation), works on every SPARQL 1.1 engine, and the values are
    serialized RDF terms, so no quote, brace or comment in a value can change the query.
    """
    if not bindings:
        return text
    bare = _STRIP.sub(_blank, text)
    start = 0
    if re.search(r"(?<![\w:?$])CONSTRUCT\s+WHERE(?![\w:])", bare, flags=re.IGNORECASE):
        raise StoreError("cannot bind values in the short form CONSTRUCT WHERE { ... }; write "
                         "CONSTRUCT { template } WHERE { pattern }")
    if re.search(r"(?<![\w:?$])CONSTRUCT(?![\w:])", bare, flags=re.IGNORECASE):
        where = re.search(r"(?<![\w:?$])WHERE(?![\w:])", bare, flags=re.IGNORECASE)
        if where is None:
            raise StoreError("cannot bind values in a CONSTRUCT query without WHERE")
        start = where.end()
    else:
        form = re.search(r"(?<![\w:?$])(SELECT|ASK|DESCRIBE)(?![\w:])", bare,
                         flags=re.IGNORECASE)
        start = form.end() if form else 0
    brace = bare.find("{", start)
    if brace < 0:
        raise StoreError("cannot bind values: the query has no WHERE group")
    names = " ".join(f"?{k}" for k in bindings)
    terms = " ".join(str(v) for v in bindings.values())
    return f"{text[:brace + 1]} VALUES ({names}) {{ ({terms}) }} {text[brace + 1:]}"


@dataclass
class Table:
    """SELECT results, materialised (so they can be capped, counted and rendered)."""

    variables: list[str]
    rows: list[list[Any]]
    truncated: bool = False


@dataclass
class QueryResult:
    form: str
    table: Table | None = None
    boolean: bool | None = None
    triples: list[ox.Triple] | None = None
    truncated: bool = False  # SELECT rows or CONSTRUCT triples stopped at the cap


def result_form(raw: Any) -> str:
    """The form of raw engine results: a boolean, solutions, or triples (a graph)."""
    if isinstance(raw, bool | ox.QueryBoolean):
        return "ASK"
    if isinstance(raw, ox.QuerySolutions):
        return "SELECT"
    return "CONSTRUCT"


def materialise(raw: Any, row_cap: int | None) -> QueryResult:
    """Raw engine results as a QueryResult; SELECT rows and CONSTRUCT / DESCRIBE triples stop
    at ``row_cap`` (read lazily, so the cap also bounds the memory a result takes)."""
    form = result_form(raw)
    if form == "ASK":
        return QueryResult(form, boolean=bool(raw))
    items: list[Any] = []
    truncated = False
    for item in raw:
        if row_cap is not None and len(items) >= row_cap:
            truncated = True
            break
        items.append(item)
    if form == "CONSTRUCT":
        return QueryResult(form, triples=items, truncated=truncated)
    variables = [v.value for v in raw.variables]
    rows = [[solution[v] for v in variables] for solution in items]
    return QueryResult(form, table=Table(variables, rows, truncated), truncated=truncated)


def _term(text: str) -> ox.NamedNode | ox.Literal:
    """A binding value from the command line: <iri>, "literal", number, or plain string."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        return ox.NamedNode(text[1:-1])
    if re.fullmatch(r"[+-]?\d+", text):
        return ox.Literal(text, datatype=ox.NamedNode(XSD + "integer"))
    if re.fullmatch(r"[+-]?\d*\.\d+", text):
        return ox.Literal(text, datatype=ox.NamedNode(XSD + "decimal"))
    if text in ("true", "false"):
        return ox.Literal(text, datatype=ox.NamedNode(XSD + "boolean"))
    if re.match(r"^[a-z][a-z0-9+.-]*://", text):
        return ox.NamedNode(text)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return ox.Literal(text)


def parse_bindings(pairs: Iterable[str]) -> dict[str, ox.NamedNode | ox.Literal]:
    """``name=value`` pairs into typed RDF terms (never pasted into query text)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().lstrip("?$")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise StoreError(f"--bind {pair!r}: expected name=value with a SPARQL variable name")
        try:
            out[name] = _term(value)
        except ValueError as exc:
            raise StoreError(f"--bind {pair!r}: {exc}") from None
    return out


# ----------------------------------------------------------------------------------------
# Stores
# ----------------------------------------------------------------------------------------
class Store(ABC):
    """A dataset of named graphs reachable by SPARQL."""

    location: str
    created: bool = False  # opened by creating it (an embedded store at a new path)
    #: whether the store's own default graph can hold a copy of the current knowledge
    #: (:mod:`guidegraph.store.current`); a remote engine's default graph is its own
    keeps_knowledge_copy: bool = False

    @abstractmethod
    def _select(self, text: str, bindings: dict, default_graphs: list[str] | None,
                union: bool) -> Any: ...

    @abstractmethod
    def update(self, text: str) -> None:
        """Run one SPARQL update as one transaction."""

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release the store (an embedded store's lock is held until then)."""

    @abstractmethod
    def graph_triples(self, graph: str) -> list[ox.Triple]:
        """All triples of one named graph."""

    def query(self, text: str, *, bindings: dict | None = None, union: bool = False,
              default_graphs: list[str] | None = None, row_cap: int | None = None
              ) -> QueryResult:
        """A user query: refused if unsafe; rows (or triples) materialised up to ``row_cap``.

        Nothing parses the text before the guard; the engine's own parse checks its syntax."""
        refuse_unsafe(text)
        raw = self._select(text, bindings or {}, default_graphs, union)
        return materialise(raw, row_cap)

    def add_graphs(self, graphs: dict[str, Iterable[ox.Triple]], *, replace: bool = True,
                   append: dict[str, Iterable[ox.Triple]] | None = None) -> None:
        """Write several named graphs in one transaction, each replaced unless
        ``replace=False``; ``append`` graphs (the audit log) are only ever added to."""
        self.update(write_text(graphs, replace, append or {}))

    def write_graphs(self, graphs: dict[str, list[ox.Triple]], *, texts: dict[str, bytes],
                     append: dict[str, list[ox.Triple]]) -> None:
        """Write graphs given as triples and as N-Triples text (each replaced) and the
        ``append`` graphs, in one transaction."""
        parsed = {g: [q.triple for q in ox.parse(t, format=ox.RdfFormat.N_TRIPLES)]
                  for g, t in texts.items()}
        self.add_graphs({**graphs, **parsed}, append=append)

    def graph_names(self) -> list[str]:
        rows = self._select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", {}, None,
                            False)
        return sorted(r["g"].value for r in rows)

    def knowledge_copy(self) -> frozenset[str] | None:
        """The graphs the store's default graph holds a copy of, as :data:`COPY_GRAPH` names
        them (None: it holds no copy).

        Also None, whatever the marker says, when the default graph cannot be that copy:
        when it is empty (the marker graph was copied from another store without the
        default graph) or when the marker itself shows in it (an engine whose default graph
        is the union of its named graphs, as Oxigraph server's ``--union-default-graph``).
        Both are asked in the same request as the marker."""
        if not self.keeps_knowledge_copy:
            return None
        rows = self._select(f"""SELECT ?kind ?g ?union ?filled WHERE {{
            {{ GRAPH <{COPY_GRAPH}> {{ {{ <{COPY_GRAPH}> <{RDF_TYPE}> ?kind }}
                UNION {{ <{COPY_GRAPH}> <{COPIES_GRAPH}> ?g }} }} }}
            UNION {{ <{COPY_GRAPH}> <{RDF_TYPE}> ?union }}
            UNION {{ SELECT ?filled WHERE {{ ?filled ?p ?o }} LIMIT 1 }}
            }}""", {}, None, False)
        kinds, graphs, seen = set(), set(), set()
        for row in rows:
            if row["kind"] is not None:
                kinds.add(row["kind"].value)
            if row["g"] is not None:
                graphs.add(row["g"].value)
            seen.update(v for v in ("union", "filled") if row[v] is not None)
        if KNOWLEDGE_COPY not in kinds or seen != {"filled"}:
            return None
        return frozenset(graphs)

    # -- content hashes (the audit log's account of each graph) ----------------------
    def graph_ntriples(self, graph: str) -> bytes:
        """One named graph as N-Triples."""
        return ox.serialize(self.graph_triples(graph), format=ox.RdfFormat.N_TRIPLES)

    #: Whether graph_ntriples gives literals as Oxigraph keeps them (by value)
    _normalised = False

    def graph_hash(self, graph: str) -> str:
        """The content hash of one stored graph (:data:`ABSENT` when it holds nothing)."""
        data = self.graph_ntriples(graph)
        return ntriples_hash(data, normalised=self._normalised) if data.strip() else ABSENT

    def graph_hashes(self, *, include_log: bool = False) -> dict[str, str]:
        """The content hash of every stored graph but the audit log (unless asked). A graph
        emptied but not dropped counts as absent, as engines that list only graphs with
        triples would have it."""
        hashes = {}
        for g in self.graph_names():
            if g == COPY_GRAPH:
                continue  # derived from the graphs it names: checked against them instead
            if include_log or g != LOG_GRAPH:
                data = self.graph_ntriples(g)
                if data.strip():
                    hashes[g] = ntriples_hash(data, normalised=self._normalised)
        return hashes





def _nt(t: ox.Triple) -> str:
    return f"{t.subject} {t.predicate} {t.object} ."


def write_text(graphs: dict[str, Iterable[ox.Triple]], replace: bool,
               append: dict[str, Iterable[ox.Triple]], *, template: bool = False,
               chunk: int | None = None) -> str:
    """One update writing the graphs (dropped first if ``replace``) and the ``append`` ones.

    ``INSERT DATA``, or with ``template`` ``INSERT { … } WHERE {}`` (the same triples; the
    form for engines whose ``INSERT DATA`` takes no blank nodes). ``chunk`` splits the
    triples over several operations of about that many triples, for engines that compile
    one operation into a program of bounded size; the triples of one blank node stay in one
    operation, since a blank node label stands for a fresh node in each."""
    ops = [f"DROP SILENT GRAPH <{g}>" for g in graphs] if replace else []
    every = [(g, list(ts)) for g, ts in [*graphs.items(), *append.items()]]
    line = _template_nt if template else _nt
    for part in _split(every, chunk):
        data = "\n".join(f"GRAPH <{g}> {{\n" + "\n".join(line(t) for t in ts) + "\n}"
                         for g, ts in part)
        ops.append(f"INSERT {{\n{data}\n}} WHERE {{}}" if template
                   else f"INSERT DATA {{\n{data}\n}}")
    return " ;\n".join(ops)


def _template_nt(t: ox.Triple) -> str:
    """A template triple; a whole-number ``xsd:decimal`` is written with ``.0``, the same
    value, because Virtuoso turns ``"35"^^xsd:decimal`` in a template into an integer."""
    obj = t.object
    if (isinstance(obj, ox.Literal) and obj.datatype.value == XSD + "decimal"
            and re.fullmatch(r"[+-]?\d+", obj.value)):
        obj = ox.Literal(obj.value + ".0", datatype=obj.datatype)
    return f"{t.subject} {t.predicate} {obj} ."


def _split(every: list[tuple[str, list[ox.Triple]]], chunk: int | None
           ) -> list[list[tuple[str, list[ox.Triple]]]]:
    """Graph contents in parts of about ``chunk`` triples, each blank node's triples whole."""
    if chunk is None:
        return [every]
    parts: list[list[tuple[str, list[ox.Triple]]]] = [[]]
    size = 0
    for graph, triples in every:
        for group in _blank_groups(triples):
            if size and size + len(group) > chunk:
                parts.append([])
                size = 0
            if not parts[-1] or parts[-1][-1][0] != graph:
                parts[-1].append((graph, []))
            parts[-1][-1][1].extend(group)
            size += len(group)
    return parts


def _blank_groups(triples: list[ox.Triple]) -> list[list[ox.Triple]]:
    """The triples grouped so that triples sharing a blank node (directly or through other
    blank nodes) fall in one group; triples without blank nodes are groups of one."""
    root: dict[ox.BlankNode, ox.BlankNode] = {}

    def find(node: ox.BlankNode) -> ox.BlankNode:
        while root.setdefault(node, node) != node:
            root[node] = root[root[node]]
            node = root[node]
        return node

    for t in triples:
        blanks = [x for x in (t.subject, t.object) if isinstance(x, ox.BlankNode)]
        if len(blanks) == 2:
            root[find(blanks[0])] = find(blanks[1])
        elif blanks:
            find(blanks[0])
    groups: dict[Any, list[ox.Triple]] = {}
    plain: list[list[ox.Triple]] = []
    for t in triples:
        blank = next((x for x in (t.subject, t.object) if isinstance(x, ox.BlankNode)), None)
        if blank is None:
            plain.append([t])
        else:
            groups.setdefault(find(blank), []).append(t)
    return [*plain, *groups.values()]


class StoreLocked(StoreError):
    """The embedded store is open read-write in another process (RocksDB allows one)."""


def is_store(path: Path) -> bool:
    """Whether ``path`` holds an embedded store (RocksDB writes ``CURRENT`` first)."""
    return (path / "CURRENT").is_file()


def check_store_path(path: Path, *, write: bool) -> bool:
    """Refuse a path a command cannot use; True when a store is already there.

    A command that only reads refuses a path with no store (a mistyped ``--store`` would
    otherwise create an empty store and answer "0 rows" or "intact"); one that writes may
    create a store, but never inside a folder that holds something else."""
    if is_store(path):
        return True
    if not write:
        raise StoreError(f"no store at {path}: nothing was loaded there (a mistyped --store "
                         "or GUIDEGRAPH_STORE?); `guidegraph load --store PATH` creates one")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise StoreError(f"{path} is not a guidegraph store and not empty; give a new or "
                         "empty folder for a new store")
    return False


class EmbeddedStore(Store):
    """pyoxigraph on disk (RocksDB) or in memory (``path=None``, for tests).

    ``read_only`` opens without RocksDB's lock, beside a process that holds the store
    read-write (a running server); it sees the store as it was when opened.

    Its default graph holds a copy of the current knowledge (:mod:`guidegraph.store.current`),
    which a query whose default graph is those graphs reads instead of listing them."""

    keeps_knowledge_copy = True
    _UNREAD: Any = object()

    def __init__(self, path: Path | str | None, *, read_only: bool = False) -> None:
        self.location = str(path) if path is not None else "(in memory)"
        self._copy: frozenset[str] | None = self._UNREAD
        try:
            if path is None:
                self.ox = ox.Store()
            elif read_only:
                self.ox = ox.Store.read_only(str(path))
            else:
                Path(path).mkdir(parents=True, exist_ok=True)
                self.ox = ox.Store(str(path))
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(
                    f"store {path} is in use by another process (a running `guidegraph "
                    "serve`, or another command writing to it); commands that only read open "
                    "it beside that process, but this one writes: stop that process first, or "
                    "send the request to the server (--store http://127.0.0.1:7878/sparql, "
                    "or the address it listens on)") from None
            raise StoreError(f"cannot open store {path}: {exc}") from None

    def _select(self, text: str, bindings: dict, default_graphs: list[str] | None,
                union: bool) -> Any:
        text = bind_values(text, bindings)
        kwargs: dict[str, Any] = {}
        if default_graphs is not None:
            if self.knowledge_copy() != frozenset(default_graphs):
                kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
            # else the default graph is their copy: the same triples, without the cost of a
            # listed default graph, which grows with everything stored
        elif union:
            kwargs["use_default_graph_as_union"] = True
        try:
            return self.ox.query(text, **kwargs)
        except SyntaxError as exc:
            raise QuerySyntaxError(f"query is not valid SPARQL 1.1: {exc}") from None
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"query failed: {exc}") from None

    def knowledge_copy(self) -> frozenset[str] | None:
        """As :meth:`Store.knowledge_copy`, read once and again after each write."""
        if self._copy is self._UNREAD:
            self._copy = super().knowledge_copy()
        return self._copy

    def add_graphs(self, graphs: dict[str, Iterable[ox.Triple]], *, replace: bool = True,
                   append: dict[str, Iterable[ox.Triple]] | None = None) -> None:
        """As :meth:`Store.add_graphs`; additions go through one ``extend`` transaction,
        several times faster than parsing an INSERT DATA request for large graphs."""
        self._copy = self._UNREAD
        if replace and any(self.ox.contains_named_graph(ox.NamedNode(g)) for g in graphs):
            # Replacing needs DROP and INSERT in one transaction: only an update does that.
            super().add_graphs(graphs, replace=True, append=append)
            return
        every = {**graphs, **(append or {})}
        quads = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(g))
                 for g, ts in every.items() for t in ts]
        try:
            self.ox.extend(quads)
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"write failed, nothing was written: {exc}") from None

    def write_graphs(self, graphs: dict[str, list[ox.Triple]], *, texts: dict[str, bytes],
                     append: dict[str, list[ox.Triple]]) -> None:
        """As :meth:`Store.write_graphs`, but graphs given as text that the store does not
        hold yet (new runs) go first through Oxigraph's bulk loader, about three times
        faster than a transaction, and leaving no write-ahead log for the next open to
        replay (after 1,000 runs written in transactions, opening the store took 13 s).

        The bulk load is not a transaction. The rest, the log entries and each graph's link
        to its entry among it, follows in one, so an entry only ever names a graph written
        whole; if that fails or the process dies in between, the new graphs stay without
        entries or links and ``audit --verify-log`` reports each one as written outside the
        log. Saving the same runs again replaces and logs them. Nothing the store held
        before is touched."""
        self._copy = self._UNREAD
        new = {g: t for g, t in texts.items() if not self.ox.contains_named_graph(
            ox.NamedNode(g))}
        if new:
            data = b"".join(as_quads(t, g) for g, t in new.items())
            try:
                self.ox.bulk_load(data, format=ox.RdfFormat.N_QUADS)
            except (OSError, RuntimeError, SyntaxError) as exc:
                raise StoreError(
                    f"write failed: {exc}; of the {len(new)} new graphs being bulk loaded, "
                    "some may be stored in part and without their log entries (`guidegraph "
                    "audit --verify-log` lists them); nothing stored before was changed"
                ) from None
        try:
            super().write_graphs(graphs, texts={g: t for g, t in texts.items()
                                                if g not in new}, append=append)
        except StoreError as exc:
            if not new:
                raise
            raise StoreError(
                f"the log entries were not written ({exc}); the {len(new)} new graphs bulk "
                "loaded before them are stored without entries (`guidegraph audit "
                "--verify-log` lists them as written outside the log; saving the same runs "
                "again logs them)") from None

    def update(self, text: str) -> None:
        self._copy = self._UNREAD
        try:
            self.ox.update(text)
        except SyntaxError as exc:
            raise QuerySyntaxError(f"update is not valid SPARQL 1.1: {exc}") from None
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"update failed, nothing was written: {exc}") from None

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        return [q.triple for q in self.ox.quads_for_pattern(None, None, None,
                                                            ox.NamedNode(graph))]

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self.ox.named_graphs() if isinstance(g, ox.NamedNode))

    _normalised = True  # read back as the store keeps it

    def graph_ntriples(self, graph: str) -> bytes:
        name = ox.DefaultGraph() if graph == DEFAULT_GRAPH else ox.NamedNode(graph)
        return self.ox.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=name)

    def graph_hashes(self, *, include_log: bool = False) -> dict[str, str]:
        """As :meth:`Store.graph_hashes`, and the default graph when it holds anything but
        the copy of the current knowledge (an older store's, written by an update; a remote
        engine's default graph may be the union of all graphs, so only here is it hashed).
        The copy is derived, and checked against what it copies instead."""
        hashes = super().graph_hashes(include_log=include_log)
        if self.knowledge_copy() is not None:
            return hashes
        data = self.graph_ntriples(DEFAULT_GRAPH)
        if data:
            hashes[DEFAULT_GRAPH] = ntriples_hash(data, normalised=True)
        return hashes

    def close(self) -> None:
        # Dropping the last reference closes RocksDB and frees its lock for the next opener.
        self.ox = None  # type: ignore[assignment]


#: Engines recognised by the ``Server`` header of their answers, per endpoint URL.
_ENGINES: dict[str, str] = {}
#: Virtuoso's graphs of its own, per endpoint URL (:meth:`RemoteStore.own_graphs`).
_OWN_GRAPHS: dict[str, frozenset[str]] = {}
#: Graphs every Virtuoso database holds for the server itself (its RDF-view schema and the
#: LDP vocabulary); with the graph of its own service description (named by its endpoint,
#: found by its ``sd:Service`` triple) they are not part of guidegraph's dataset.
VIRTUOSO_OWN_GRAPHS = frozenset({"http://www.openlinksw.com/schemas/virtrdf#",
                                 "http://www.w3.org/ns/ldp#"})
#: Triples per ``INSERT`` operation on Virtuoso, whose compiler refuses an operation that
#: becomes more than 10,000 lines of SQL ("SP031 … exceeded 10000 lines of code").
_VIRTUOSO_CHUNK = 500
_SD_SERVICE = SD + "Service"


class RemoteStore(Store):
    """Any SPARQL 1.1 engine over the Protocol; tested with Oxigraph server, Virtuoso 7 and
    guidegraph's own ``serve``.

    ``url`` is the query endpoint; the update endpoint defaults to the same URL with a
    final ``/query`` or ``/sparql`` replaced by ``/update`` (Oxigraph's layout), or to the
    query URL itself on Virtuoso, which takes both at ``/sparql``.

    Every query sees the embedded store's dataset whatever the engine's defaults. When the
    engine's own default graph holds the copy of the current knowledge (as on the embedded
    store, checked by :meth:`knowledge_copy` in the same round trip that used to list the
    graphs), a query on that knowledge names no graphs and its size does not grow with the
    stored runs. Otherwise the dataset is explicit (``default-graph-uri`` and
    ``named-graph-uri`` for every graph): a Protocol request with only
    ``default-graph-uri`` has no named graphs, and Virtuoso without any dataset takes the
    union of all its graphs, its own system graphs among them. The differences of Virtuoso
    (recognised by its ``Server`` header) handled here:

    * it keeps no copy (its default graph is the union of all graphs) and so names every
      graph in each request (:meth:`dataset_params` says why no shorter form works);

    * its own graphs (:data:`VIRTUOSO_OWN_GRAPHS`, its service description) are left out of
      :meth:`graph_names`, hence out of every dataset;
    * it answers with one header per graph of the request's dataset
      (``X-SPARQL-named-graph``), more than the 100 headers Python's HTTP client reads by
      default once a store holds 50 runs: :meth:`_post` raises that limit to fit;
    * ``INSERT DATA`` refuses blank nodes ("not allowed in a constant clause"), so writes
      holding one go as ``INSERT { … } WHERE {}``, which gives each label one fresh node;
    * a result capped by its ``ResultSetMaxRows`` or cut short by an anytime-query timeout
      (``MaxQueryExecutionTime``) is an error here, never a silently shorter answer;
    * updates need the ``SPARQL_UPDATE`` role for the endpoint's user: the refusal says so.
    """

    def __init__(self, url: str, update_url: str | None = None, timeout: float = 60.0) -> None:
        self.location = url
        self.url = url
        self._update_url = update_url
        self.timeout = timeout

    @property
    def engine(self) -> str:
        """``virtuoso`` or ``sparql`` (any other engine), asked once per endpoint."""
        if self.url not in _ENGINES:
            self._post(self.url, [("query", "ASK {}")], "application/sparql-results+json")
        return _ENGINES.get(self.url, "sparql")

    @property
    def update_url(self) -> str:
        if self._update_url:
            return self._update_url
        if self.engine == "virtuoso":
            return self.url
        update = re.sub(r"/(query|sparql)/?$", "/update", self.url)
        return update if update != self.url else self.url.rstrip("/") + "/update"

    def _post(self, url: str, data: list[tuple[str, str]], accept: str) -> bytes:
        # Room for the header Virtuoso echoes per dataset graph (the limit only ever rises).
        http.client._MAXHEADERS = max(http.client._MAXHEADERS, 100 + len(data))
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": accept})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                server = response.headers.get("Server", "")
                _ENGINES[url] = "virtuoso" if server.startswith("Virtuoso/") else "sparql"
                capped = response.headers.get("X-SPARQL-MaxRows")
                if capped:
                    raise StoreError(f"{url}: the answer reached the engine's row limit of "
                                     f"{capped} (Virtuoso's ResultSetMaxRows) and may be cut "
                                     "short: raise that limit")
                if response.headers.get("X-SQL-State") == "S1TAT":
                    raise StoreError(f"{url}: the engine gave a partial result at its time "
                                     "limit (Virtuoso's MaxQueryExecutionTime)")
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            if "SP031" in detail and "10000 lines" in detail:
                raise StoreError(f"{url}: Virtuoso cannot compile this write: one structure "
                                 f"of blank nodes holds more than about {_VIRTUOSO_CHUNK} "
                                 "triples, and the triples of a blank node cannot be split "
                                 f"over operations: {detail}") from None
            if exc.code == 400:  # the engine's parser refused the text
                raise QuerySyntaxError(f"not valid SPARQL 1.1 according to the engine at "
                                       f"{url} (HTTP 400): {detail}") from None
            if "SR186" in detail and "No permission" in detail:
                raise StoreError(f"{url}: the engine refused the update: the endpoint's user "
                                 "lacks the SPARQL_UPDATE role (Virtuoso: GRANT SPARQL_UPDATE "
                                 f'TO "SPARQL"): {detail}') from None
            raise StoreError(f"{url}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"{url}: cannot reach the SPARQL endpoint: {exc}") from None

    @property
    def keeps_knowledge_copy(self) -> bool:  # type: ignore[override]
        """Every engine but Virtuoso, whose default graph without a dataset is the union of
        all its graphs, not a graph of its own."""
        return self.engine != "virtuoso"

    def own_graphs(self) -> frozenset[str]:
        """Virtuoso's graphs for the server itself (:data:`VIRTUOSO_OWN_GRAPHS` and its
        service description), asked once per endpoint; none on other engines."""
        if self.engine != "virtuoso":
            return frozenset()
        if self.url not in _OWN_GRAPHS:
            own = f"SELECT ?g WHERE {{ GRAPH ?g {{ ?g a <{_SD_SERVICE}> }} }} GROUP BY ?g"
            found = {r["g"].value for r in self._run(own, [("query", own)])}
            _OWN_GRAPHS[self.url] = frozenset(found | VIRTUOSO_OWN_GRAPHS)
        return _OWN_GRAPHS[self.url]

    def dataset_params(self, default_graphs: list[str] | None, union: bool
                       ) -> list[tuple[str, str]]:
        """Protocol parameters that give the embedded store's dataset: the given default
        graphs (or the union of all graphs, or the engine's own default graph) and every
        stored graph as a named graph.

        With no dataset a request reads the engine's default graph and every graph as a
        named graph; when that default graph is the copy of the wanted graphs
        (:meth:`knowledge_copy`, kept on every engine but Virtuoso) that is the dataset asked
        for, and the request names nothing. Otherwise every graph is named, since the
        Protocol has no other way to say "and all graphs as named graphs", and the request
        grows with the store. Virtuoso always needs that: without a dataset its default
        graph is the union of all its graphs, and a request that names only default graphs
        (or excludes its own graphs by its pragmas) answers ``GRAPH <iri>`` with nothing,
        although ``GRAPH ?g`` ranges over every graph there.
        """
        if default_graphs is None and not union and self.engine != "virtuoso":
            return []  # the engine's own default graph and all its graphs as named graphs
        if default_graphs is not None and self.knowledge_copy() == frozenset(default_graphs):
            return []
        names = self.graph_names()
        if default_graphs is None and union:
            default_graphs = names  # the standard form of a union, which every engine reads
        # No graph at all would send no dataset, which means everything on Virtuoso: name a
        # graph that is never written instead.
        return [*(("default-graph-uri", g) for g in default_graphs or []),
                *(("named-graph-uri", g) for g in names or [NO_GRAPH])]

    def _select(self, text: str, bindings: dict, default_graphs: list[str] | None,
                union: bool) -> Any:
        text = bind_values(text, bindings)
        return self._run(text, [("query", text), *self.dataset_params(default_graphs, union)])

    def _run(self, text: str, params: list[tuple[str, str]]) -> Any:
        """Raw results of a query sent with these Protocol parameters (the dataset too)."""
        form = query_form(text)
        virtuoso = self.engine == "virtuoso"
        if form in ("SELECT", "ASK"):
            data = self._post(self.url, params, "application/sparql-results+json")
            if form == "ASK":
                return json.loads(data)["boolean"]
            if virtuoso:
                data = _canonical_results(data)
            return ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
        data = self._post(self.url, params, "application/n-triples")
        triples = [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
        if virtuoso:
            triples = [ox.Triple(t.subject, t.predicate, _canonical_term(t.object))
                       for t in triples]
        return triples

    def graph_names(self) -> list[str]:
        """Every graph in the engine but the engine's own (GROUP BY, not DISTINCT: the same
        answer, and Virtuoso 7.2 takes seconds for DISTINCT where GROUP BY takes none)."""
        text = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        names = {r["g"].value for r in self._run(text, [("query", text)])}
        return sorted(names - self.own_graphs())

    def add_graphs(self, graphs: dict[str, Iterable[ox.Triple]], *, replace: bool = True,
                   append: dict[str, Iterable[ox.Triple]] | None = None) -> None:
        """As :meth:`Store.add_graphs`; on Virtuoso, data with blank nodes is written as an
        ``INSERT`` template (its ``INSERT DATA`` refuses blank nodes)."""
        graphs = {g: list(ts) for g, ts in graphs.items()}
        append = {g: list(ts) for g, ts in (append or {}).items()}
        blank = self.engine == "virtuoso" and any(
            isinstance(term, ox.BlankNode) for ts in [*graphs.values(), *append.values()]
            for t in ts for term in (t.subject, t.object))
        chunk = _VIRTUOSO_CHUNK if self.engine == "virtuoso" else None
        self.update(write_text(graphs, replace, append, template=blank, chunk=chunk))

    def update(self, text: str) -> None:
        self._post(self.update_url, [("update", text)], "*/*")

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        """The graph's triples (:data:`DEFAULT_GRAPH`: the engine's own default graph, read
        with no dataset); read with SELECT on Virtuoso, which cuts a CONSTRUCT answer at
        its row limit without a sign, but marks a SELECT answer that reached it."""
        if self.engine != "virtuoso":
            pattern = "?s ?p ?o" if graph == DEFAULT_GRAPH else f"GRAPH <{graph}> {{ ?s ?p ?o }}"
            text = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {pattern} }}"
            return self._run(text, [("query", text)])
        text = f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        return [ox.Triple(r["s"], r["p"], r["o"]) for r in self._run(text, [("query", text)])]


def _canonical(value: str, datatype: str) -> str:
    """The lexical form Oxigraph gives a value Virtuoso writes its own way: booleans as
    ``true``/``false`` (Virtuoso: ``1``/``0``) and dateTimes without trailing zeros in the
    seconds' fraction (Virtuoso keeps ``.123400``); both are the XSD canonical forms."""
    if datatype == XSD + "boolean":
        return {"1": "true", "0": "false"}.get(value, value)
    if datatype == XSD + "dateTime":
        return re.sub(r"\.(\d*?)0+(?=Z|[+-]\d\d:\d\d|$)",
                      lambda m: f".{m[1]}" if m[1] else "", value)
    return value


def _canonical_term(term: Any) -> Any:
    if isinstance(term, ox.Literal) and term.language is None:
        value = _canonical(term.value, term.datatype.value)
        if value != term.value:
            return ox.Literal(value, datatype=term.datatype)
    return term


def _canonical_results(data: bytes) -> bytes:
    """Virtuoso's SPARQL JSON results with literals in canonical form (see
    :func:`_canonical`) and blank nodes under the labels of its N-Triples (``nodeID://b1``
    is no blank node label: ``b1``, as in its CONSTRUCT answers)."""
    results = json.loads(data)
    for row in results.get("results", {}).get("bindings", []):
        for cell in row.values():
            if "datatype" in cell:
                cell["value"] = _canonical(cell["value"], cell["datatype"])
            elif cell.get("type") == "bnode":
                label = cell["value"].removeprefix("nodeID://")
                cell["value"] = re.sub(r"[^A-Za-z0-9_]", "_", label)
    return json.dumps(results).encode()


def open_store(spec: str | None = None, *, write: bool = True) -> Store:
    """``http(s)://…`` opens a remote engine; anything else is an embedded store path.

    ``write=False`` opens an existing embedded store read-only (refusing a path with no
    store); ``write=True`` opens it read-write, creating it if needed (``store.created``)."""
    spec = spec or None
    if spec and re.match(r"^https?://", spec):
        return RemoteStore(spec)
    path = Path(spec).expanduser() if spec else default_store_path()
    existed = check_store_path(path, write=write)
    store = EmbeddedStore(path, read_only=not write)
    store.created = not existed
    return store
