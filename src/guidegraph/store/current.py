"""Which stored graphs are current, and the default graph that holds a copy of them.

A query over the store sees the current ontology and guideline versions as its default graph
and every stored graph (cases, runs, superseded versions, the log) as a named graph. Named
by a list (SPARQL's ``default-graph-uri``), such a default graph costs on Oxigraph in
proportion to everything stored: it looks each pattern up across every graph and keeps the
listed ones, so a query that reads no run still pays for every stored run (the README's
query: 0.65 ms on a store with the knowledge only, 8.2 ms on one with 10,000 runs).

So the embedded store also keeps the current knowledge in its own default graph, rewritten
whenever the current versions change (after a ``load`` and after every logged update), with
the names of the graphs it copies in the graph :data:`COPY_GRAPH`. A query whose default
graph is the current dataset reads that copy when the names match and lists the graphs when
they do not, so the copy only ever makes queries faster, never different. Rules that keep it
a copy:

* nothing else writes the default graph: an update that would is refused before it runs
  (:func:`guidegraph.store.sparql.refuse_default_graph_writes`);
* a store whose default graph held data before it held a copy keeps that data, and its
  queries list the current graphs as before;
* ``audit --verify-log`` checks the copy against the graphs it names (the log records the
  graphs themselves, not the copy, which is derived from them).
"""

from __future__ import annotations

from guidegraph.store.base import Store
from guidegraph.store.hashing import DEFAULT_GRAPH
from guidegraph.vocab import COPIES_GRAPH, COPY_GRAPH, GG, KNOWLEDGE_COPY, RDF_TYPE, SKOS_NOTATION


def snapshots(store: Store) -> list[dict[str, str]]:
    """Every loaded ontology and guideline version with when it was last loaded."""
    rows = store._select(f"""
        PREFIX gg: <{GG}>
        SELECT ?g ?kind ?of ?id ?version ?hash (MAX(?t) AS ?loaded) WHERE {{
          GRAPH ?g {{ ?g gg:loadedAt ?t ; gg:contentHash ?hash ; gg:snapshotKind ?kind .
            OPTIONAL {{ ?g gg:snapshotOf ?of }} OPTIONAL {{ ?g gg:version ?version }}
            OPTIONAL {{ ?g <{SKOS_NOTATION}> ?id }} }}
        }} GROUP BY ?g ?kind ?of ?id ?version ?hash""", {}, None, False)
    out = []
    for r in rows:
        out.append({k: (r[k].value if r[k] is not None else "") for k in
                    ("g", "kind", "of", "id", "version", "hash", "loaded")})
    return sorted(out, key=lambda s: (s["kind"], s["id"], s["loaded"]))


def current_snapshots(store: Store) -> list[dict[str, str]]:
    """The ontology and, per guideline, the version loaded last."""
    latest: dict[tuple[str, str], dict[str, str]] = {}
    for snap in snapshots(store):
        key = (snap["kind"], snap["of"])
        if key not in latest or snap["loaded"] > latest[key]["loaded"]:
            latest[key] = snap
    return sorted(latest.values(), key=lambda s: (s["kind"], s["id"]))


def current_dataset(store: Store) -> list[str]:
    """Graphs a query sees as its default graph: the current ontology and guideline versions.

    Every stored case, run and superseded version stays a named graph, read with ``GRAPH``.
    A default graph that listed them would grow with every stored run; this list grows only
    with the number of guidelines (and the store keeps a copy of it, see the module)."""
    return [s["g"] for s in current_snapshots(store)]


def _default_graph_holds_data(store: Store) -> bool:
    return bool(store._select("ASK { ?s ?p ?o }", {}, None, False))


def refresh_copy(store: Store, *, force: bool = False, ours: bool = False) -> bool:
    """Make the default graph a copy of the current graphs, in one transaction; True when it
    was rewritten. Left alone when it already copies them (unless ``force``: a graph it
    copies may have changed), and on a store that does not keep a copy or whose default
    graph holds other data (unless ``ours``: the caller saw the copy there before an update
    that may have deleted its record through a ``GRAPH ?g`` pattern)."""
    if not store.keeps_knowledge_copy:
        return False
    held = store.knowledge_copy()
    if held is None and not ours and _default_graph_holds_data(store):
        return False  # someone's data, kept; queries list the graphs instead
    dataset = current_dataset(store)
    if held == frozenset(dataset) and not force:
        return False
    node = f"<{COPY_GRAPH}>"
    marks = [f"{node} <{RDF_TYPE}> <{KNOWLEDGE_COPY}> .",
             *(f"{node} <{COPIES_GRAPH}> <{g}> ." for g in dataset)]
    store.update(" ;\n".join([
        "DROP SILENT DEFAULT", f"DROP SILENT GRAPH {node}",
        *(f"ADD SILENT <{g}> TO DEFAULT" for g in dataset),
        f"INSERT DATA {{ GRAPH {node} {{\n" + "\n".join(marks) + "\n} }"]))
    return True


def copy_problems(store: Store) -> list[str]:
    """How the default graph differs from the graphs it claims to copy (empty: it is their
    copy, or there is no copy)."""
    held = store.knowledge_copy()
    if held is None:
        return []
    have = set(store.graph_ntriples(DEFAULT_GRAPH).splitlines())
    want: set[bytes] = set()
    for graph in held:
        want.update(store.graph_ntriples(graph).splitlines())
    have.discard(b"")
    want.discard(b"")
    if have == want:
        return []
    return [f"the default graph is not the copy of the current knowledge it should be (of "
            f"the {len(held)} graphs named in <{COPY_GRAPH}>): {len(have - want)} triple(s) it "
            f"holds are in none of them and {len(want - have)} of theirs are missing; it was "
            "changed outside guidegraph, and the next `guidegraph load` rewrites it"]
