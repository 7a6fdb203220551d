"""The SERVICE / LOAD / FROM guard decides from a parse, not from spelling.

Generated queries use every lexical form SPARQL allows around the forbidden keyword: escapes
in local names (``ex:a\\#``, ``ex:a\\'``), comments, strings holding braces, quotes and the
keyword itself, IRIs with ``\\u`` escapes, codepoint-escaped and mixed-case keywords, and the
pattern nested in groups, OPTIONAL, GRAPH, FILTER EXISTS, UNION, MINUS and subqueries, in
every query form and in updates. Every one is refused before it runs, on the embedded store,
and a loopback canary sees zero requests; the same texts without the forbidden clause run.
"""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidegraph.store.base import EmbeddedStore
from guidegraph.store.sparql import QueryRefused, refuse_unsafe

from .conftest import Canary

NOISE = [
    "BIND(ex:a\\# AS ?q0)", "BIND(ex:a\\' AS ?q1)", "BIND(ex:a\\&b AS ?q2)",
    '?s ?p "a\\" } SERVICE <http://x/> { #" .', "?s ?p '''a { } ''' .",
    '?s ?p """ # """ .', "?s ?p <http://e/\\u0041> .", "# SERVICE <http://x/> {\n",
    "FILTER(?s != ex:c\\,d)", "?s ?p ?o .", '?s ?p "from \\\\" .', "",
]
WRAPS = ["{0}", "{{ {0} }}", "OPTIONAL {{ {0} }}", "GRAPH ?g {{ {0} }}",
         "FILTER EXISTS {{ {0} }}", "{{ ?a ?b ?c }} UNION {{ {0} }}", "MINUS {{ {0} }}",
         "{{ SELECT * WHERE {{ {0} }} }}"]


def _keyword(word: str, rng: random.Random) -> str:
    """The keyword with each letter in either case, some as SPARQL codepoint escapes."""
    out = []
    for ch in word:
        ch = ch.upper() if rng.random() < 0.5 else ch.lower()
        out.append(f"\\u{ord(ch):04X}" if rng.random() < 0.15 else ch)
    return "".join(out)


def _query(rng: random.Random, url: str) -> tuple[str, str]:
    """(query with a forbidden clause, the same query without it)."""
    noise = " ".join(rng.sample(NOISE, rng.randint(0, 3)))
    kind = rng.choice(["SERVICE", "SERVICE SILENT", "FROM", "FROM NAMED", "LOAD", "UPDATE"])
    prefix = "PREFIX ex: <http://e/> "
    if kind.startswith("SERVICE"):
        clause = f"{_keyword('SERVICE', rng)}{' SILENT' if 'SILENT' in kind else ''} " \
                 f"<{url}sparql> {{ ?x ?y ?z }}"
        body = rng.choice(WRAPS).format(f"{noise} {clause}")
        safe_body = rng.choice(WRAPS).format(noise or "?s ?p ?o .")
        form = rng.choice(["SELECT * WHERE", "ASK", "CONSTRUCT { ?s ?p ?o } WHERE",
                           "DESCRIBE ?s WHERE"])
        return f"{prefix}{form} {{ {body} }}", f"{prefix}{form} {{ {safe_body} }}"
    if kind.startswith("FROM"):
        named = " NAMED" if "NAMED" in kind else ""
        where = f"{{ {noise} ?s ?p ?o }}"
        return (f"{prefix}SELECT * {_keyword('FROM', rng)}{named} <{url}d.ttl> WHERE {where}",
                f"{prefix}SELECT * WHERE {where}")
    if kind == "LOAD":
        return (f"{prefix}{_keyword('LOAD', rng)} SILENT <{url}d.ttl> INTO GRAPH <http://g/>",
                f"{prefix}CLEAR SILENT GRAPH <http://g/>")
    clause = f"{_keyword('SERVICE', rng)} <{url}sparql> {{ ?x ?y ?z }}"
    return (f"{prefix}INSERT {{ ?x ?y ?z }} WHERE {{ {noise} {clause} }}",
            f"{prefix}INSERT {{ ?s ?p ?o }} WHERE {{ {noise or '?s ?p ?o .'} }}")


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    return EmbeddedStore(tmp_path_factory.mktemp("guard") / "store")


@settings(max_examples=400, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.randoms(use_true_random=False))
def test_every_spelling_is_refused_and_nothing_is_fetched(canary_server: Canary,
                                                          empty_store: EmbeddedStore,
                                                          rng: random.Random) -> None:
    canary_server.clear()
    unsafe, safe = _query(rng, canary_server.url)
    with pytest.raises(QueryRefused):
        refuse_unsafe(unsafe)  # what /sparql, /update, `query` and the store check first
    if "INSERT" not in unsafe and "LOAD" not in unsafe.upper():
        with pytest.raises(QueryRefused):  # and the store's own query path
            empty_store.query(unsafe)
    refuse_unsafe(safe)  # the guard does not refuse the same query without the clause
    assert canary_server.requests == [], (unsafe, canary_server.requests)


def test_a_refused_query_leaves_no_reference_to_the_store(tmp_path) -> None:
    """The guard's parse leaves no traceback holding the caller's frames: the store closes
    (its lock is released) when its last reference goes, with no garbage collection run."""
    path = tmp_path / "store"
    store = EmbeddedStore(path)
    for text in ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
                 "PREFIX ex: <http://e/> SELECT * WHERE { BIND(ex:a\\# AS ?q) "
                 "SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
                 "SELECT * WHERE { ?s ?p 'from' }"):
        with contextlib.suppress(QueryRefused):
            store.query(text)
    del store
    EmbeddedStore(path)  # would fail with "lock hold by current process"
