"""What may be known about an untrusted SPARQL text before an engine parses it.

Three checks, none of which executes anything:

* :func:`check_nesting`, a linear scan, refuses texts nested deeper than :data:`MAX_NESTING`
  before any parser sees them: Oxigraph's parser recurses per level in native code and a
  few kilobytes of ``{{{…`` overflow its stack (a segfault, not an exception);
* :func:`query_form` reads the form (SELECT, ASK, CONSTRUCT, DESCRIBE, or an update) from the
  prologue grammar alone (``BASE``/``PREFIX`` declarations), to choose a result format before
  the engine runs; syntax is left to the engine that evaluates the text;
* :func:`refuse_unsafe` refuses SERVICE, LOAD and FROM from a parse tree of the text.

The server runs :func:`refuse_unsafe` and every engine parse in its query worker (see
:mod:`guidegraph.store.worker`), so their cost falls under the request's time limit and a
crash takes down only the worker.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable
from typing import Any

from guidegraph.errors import GuidegraphError
from guidegraph.vocab import COPY_GRAPH

#: Brackets plus unary-operator runs a text may nest; real queries stay far below.
MAX_NESTING = 128


class QueryRefused(GuidegraphError):
    """A query uses a construct that would reach the network, or nests too deep to parse."""

    exit_code = 2


class UpdateUnreadable(QueryRefused):
    """An update the check for default-graph writes cannot parse (refused: fail closed)."""


class QuerySyntaxError(GuidegraphError):
    """A query or update is not valid SPARQL 1.1 (found by the engine, or by the prologue
    scan)."""

    exit_code = 2


# ----------------------------------------------------------------------------------------
# Nesting
# ----------------------------------------------------------------------------------------
#: Tokens that hide brackets (strings, IRIs, comments, escaped characters) and the
#: characters that nest: brackets, and unary operators (``!``, ``^``, ``+``, ``-``) whose
#: chains the parser also descends one level per character.
#: Strings (all four quotings), IRIs and comments: text in which no bracket, variable or
#: keyword counts (also the store's, for placing bound values).
HIDDEN_TOKENS = (
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*')
_NESTING_TOKENS = re.compile(HIDDEN_TOKENS + r'|\\.|[{(\[]|[})\]]|(?:[!^+\-]\s*)+',
                             re.DOTALL)
_OPEN, _CLOSE = "{([", "})]"


def nesting_depth(text: str) -> tuple[int, int]:
    """The deepest nesting of the text and the character offset where it is reached.

    An escape outside a string (``ex:a\\#``, allowed in local names) is one token, so it cannot
    start a comment that hides the brackets after it."""
    depth = deepest = where = 0
    for match in _NESTING_TOKENS.finditer(text):
        token = match.group(0)
        first = token[0]
        if first in _OPEN:
            depth += 1
            level = depth
        elif first in _CLOSE:
            depth = max(depth - 1, 0)
            continue
        elif first in "!^+-":
            level = depth + sum(1 for ch in token if ch in "!^+-")
        else:
            continue
        if level > deepest:
            deepest, where = level, match.start()
    return deepest, where


def check_nesting(text: str, limit: int = MAX_NESTING) -> None:
    """Refuse a text nested deeper than ``limit`` (before any parser recurses into it)."""
    depth, where = nesting_depth(text)
    if depth > limit:
        raise QueryRefused(f"query refused: it nests {depth} levels deep (brackets and unary "
                           f"operators, deepest at character {where}); at most {limit} are "
                           "allowed")


# ----------------------------------------------------------------------------------------
# Variables
# ----------------------------------------------------------------------------------------
_VARIABLE_TOKENS = re.compile(
    HIDDEN_TOKENS + r'|\\.|[?$]([A-Za-z0-9_\u00B7\u00C0-\uFFFF]+)', re.DOTALL)


def variables(text: str) -> set[str]:
    """The names of the variables a query text uses (outside strings, IRIs and comments)."""
    return {m.group(1) for m in _VARIABLE_TOKENS.finditer(decode_codepoints(text))
            if m.group(1)}


# ----------------------------------------------------------------------------------------
# Form, from the prologue
# ----------------------------------------------------------------------------------------
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_SKIP = re.compile(r"(?:\s+|#[^\n]*)*")
_DECL = re.compile(r"BASE\s*<[^<>\s]*>|PREFIX\s*[^\s:<>]*:\s*<[^<>\s]*>", re.IGNORECASE)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:])", re.IGNORECASE)
_UPDATE = re.compile(r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)(?![\w:])",
                     re.IGNORECASE)


def _codepoints(match: re.Match) -> str:
    value = int(match.group(1) or match.group(2), 16)
    return chr(value) if value <= 0x10FFFF else match.group(0)


def decode_codepoints(text: str) -> str:
    """SPARQL's ``\\u``/``\\U`` escapes decoded, as the grammar applies to the text."""
    return _CODEPOINT.sub(_codepoints, text)


def _after_prologue(text: str) -> tuple[str, int]:
    """The text with codepoint escapes decoded, and where its prologue ends."""
    text = decode_codepoints(text)
    pos = _SKIP.match(text, 0).end()  # type: ignore[union-attr]
    while decl := _DECL.match(text, pos):
        pos = _SKIP.match(text, decl.end()).end()  # type: ignore[union-attr]
    return text, pos


def statement_form(text: str) -> str:
    """SELECT, ASK, CONSTRUCT, DESCRIBE or UPDATE: the first keyword after the prologue (an
    update may be empty: nothing after the prologue is an update that does nothing)."""
    text, pos = _after_prologue(text)
    if form := _FORM.match(text, pos):
        return form.group(1).upper()
    if pos == len(text) or _UPDATE.match(text, pos):
        return "UPDATE"
    found = text[pos:pos + 20]
    raise QuerySyntaxError(f"query is not valid SPARQL 1.1: expected SELECT, ASK, CONSTRUCT or "
                           f"DESCRIBE after the prefixes, found {found!r}")


def query_form(text: str) -> str:
    """SELECT, ASK, CONSTRUCT (DESCRIBE answers with a graph too) of a query, never run."""
    form = statement_form(text)
    if form == "UPDATE":
        decoded, pos = _after_prologue(text)
        if pos == len(decoded):
            raise QuerySyntaxError("query is not valid SPARQL 1.1: it holds no query (expected "
                                   "SELECT, ASK, CONSTRUCT or DESCRIBE after the prefixes)")
        raise QuerySyntaxError("this is a SPARQL update, not a query: send it to /update "
                               "(with the update token)")
    return "CONSTRUCT" if form == "DESCRIBE" else form


# ----------------------------------------------------------------------------------------
# Network: SERVICE, LOAD, FROM
# ----------------------------------------------------------------------------------------
_FORBIDDEN = {
    "SERVICE": "SPARQL SERVICE (federated query) would reach the network",
    "LOAD": "SPARQL LOAD would fetch a document from the network",
    "FROM": "FROM / FROM NAMED would switch the dataset to graphs fetched by IRI",
}
#: The parse-tree nodes (rdflib's SPARQL 1.1 grammar) that would reach the network.
_FORBIDDEN_NODES = {"ServiceGraphPattern": "SERVICE", "Load": "LOAD", "DatasetClause": "FROM"}
_PARSER: Any = None  # the guard's parser thread, a ThreadPoolExecutor (_forbidden_in_parse)
_PARSER_STACK = 0  # bytes of stack for that thread (0: the platform's default)


def configure_guard(stack_bytes: int, recursion_limit: int) -> None:
    """Give the guard's parser room for long texts, before its thread starts.

    rdflib's grammar recurses once per triple pattern (a group's triples are a right-recursive
    rule), so with Python's default limit a query of a hundred patterns that mentions a
    keyword (``prov:wasDerivedFrom``) would not parse and be refused. The query worker, the
    process that parses untrusted text, calls this; elsewhere the defaults fail closed."""
    global _PARSER_STACK
    _PARSER_STACK = stack_bytes
    sys.setrecursionlimit(max(sys.getrecursionlimit(), recursion_limit))


def refuse_unsafe(text: str) -> None:
    """Refuse SERVICE, LOAD and FROM before anything runs (Oxigraph would follow them),
    deciding from a parse of the query, not from its spelling; refuse deep nesting first.

    A keyword is a run of ASCII letters that no escape, comment or string can split, and
    SPARQL's codepoint escapes (``\\u0053ERVICE``) are decoded before the grammar applies; so a
    text that, decoded, does not contain the letters of a keyword anywhere cannot use it, and
    needs no parse (most queries). Any other text is parsed with a SPARQL 1.1 grammar (rdflib's;
    query, then update) and refused if its tree holds a SERVICE pattern, a LOAD or a dataset
    clause. A text that mentions a keyword but does not parse is refused too: the check fails
    closed rather than guess (escapes in local names, ``ex:a\\#``, once hid a SERVICE from a
    keyword filter). Where the server evaluates queries, a process without network is a
    second barrier behind this one (:mod:`guidegraph.store.isolation`)."""
    check_nesting(text)
    lowered = decode_codepoints(text).lower()
    mentioned = [word for word in _FORBIDDEN if word.lower() in lowered]
    if not mentioned:
        return
    found = _forbidden_in_parse(text)
    if found is None:
        why = "; ".join(f"{w}: {_FORBIDDEN[w]}" for w in mentioned)
        raise QueryRefused(f"query refused: it mentions {', '.join(mentioned)} and the safety "
                           f"check could not parse it to see whether it uses it ({why}); "
                           "rephrase it, or load data with `guidegraph load`")
    for word in _FORBIDDEN:
        if word in found:
            raise QueryRefused(f"query refused: {word} is not allowed ({_FORBIDDEN[word]}); "
                               "load data with `guidegraph load` instead")


def _forbidden_in_parse(text: str) -> set[str] | None:
    """The forbidden keywords the parse tree of a query or update uses (None: no parse)."""
    return _on_parser_thread(_parse_forbidden, text)


def _on_parser_thread(fn: Callable[[str], Any], text: str) -> Any:
    """``fn(text)`` on the parser's thread.

    The parse runs on a thread of its own: pyparsing keeps the exceptions it raises in
    reference cycles, and a traceback there would hold every caller's frame (an open store,
    and its lock) until the next garbage collection; the parser thread's frames reach no
    caller. One thread also serialises the parser, whose caches are not thread-safe."""
    global _PARSER
    if _PARSER is not None:
        return _PARSER.submit(fn, text).result()
    from concurrent.futures import ThreadPoolExecutor

    _PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sparql-guard")
    previous = threading.stack_size(_PARSER_STACK)  # read when the first submit starts it
    try:
        future = _PARSER.submit(fn, text)
    finally:
        threading.stack_size(previous)
    return future.result()


def _parse(text: str, forms: tuple[str, ...] = ("query", "update")) -> Any:
    """rdflib's parse tree of the text as the first of ``forms`` that parses (None: none)."""
    from pyparsing import ParseBaseException, ParserElement
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    parsers = {"query": parseQuery, "update": parseUpdate}
    try:
        for form in forms:
            try:
                return parsers[form](text)
            except (ParseBaseException, RecursionError, ValueError, TypeError):
                continue
    finally:
        ParserElement.reset_cache()  # the packrat cache would keep every text parsed
    return None


def _parse_forbidden(text: str) -> set[str] | None:
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parserutils import CompValue

    tree = _parse(text)
    if tree is None:
        return None
    found: set[str] = set()
    todo: list = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, CompValue):
            if node.name in _FORBIDDEN_NODES:
                found.add(_FORBIDDEN_NODES[node.name])
            todo.extend(node.values())
        elif isinstance(node, list | tuple | ParseResults):
            todo.extend(node)
    return found


# ----------------------------------------------------------------------------------------
# Updates that write the default graph
# ----------------------------------------------------------------------------------------
def refuse_default_graph_writes(text: str) -> None:
    """Refuse an update that could add to, delete from or clear the default graph, which in
    the embedded store is a copy of the current knowledge (:mod:`guidegraph.store.current`)
    that guidegraph rewrites: what an update wrote there would be lost.

    Decided from the update's parse tree (rdflib's SPARQL 1.1 grammar), before anything runs:
    a triple outside ``GRAPH`` in ``INSERT DATA``, ``DELETE DATA`` or ``DELETE WHERE``, or in
    an ``INSERT``/``DELETE`` template without ``WITH``; ``CLEAR``/``DROP`` of ``DEFAULT`` or
    ``ALL``; ``ADD``/``COPY``/``MOVE`` to ``DEFAULT``, and ``MOVE`` from it. The same forms
    naming the graph that records what the copy holds (:data:`~guidegraph.vocab.COPY_GRAPH`)
    are refused too: a marker written by hand could make queries read other data as the
    knowledge. An update the grammar cannot read is refused too (fail closed)."""
    check_nesting(text)
    found = _on_parser_thread(_default_graph_writes, text)
    if found is None:
        raise UpdateUnreadable("update refused: the check for writes to the default graph "
                               "could not parse it as SPARQL 1.1 Update; check its syntax")
    if found and found[0][1] == COPY_GRAPH:
        raise QueryRefused(
            f"update refused: {found[0][0]} would write <{COPY_GRAPH}>, the record of what "
            "the default graph copies (kept by guidegraph, rewritten on every load); write "
            "into another named graph")
    if found:
        raise QueryRefused(
            f"update refused: {found[0][0]} would write the default graph, which holds the "
            "store's copy of the current guideline versions and ontology (kept by guidegraph, "
            "rewritten on every load); write into a named graph instead (GRAPH <iri> { … } or "
            "WITH <iri>), and change guidelines with `guidegraph load`")


def _default_graph_writes(text: str) -> list[tuple[str, str]] | None:
    """What in the update would write the default graph (``DEFAULT``) or the copy's record
    (its IRI), as (operation, graph) in order (None: it does not parse)."""
    from rdflib.plugins.sparql.algebra import translatePrologue

    tree = _parse(text, ("update",))
    if tree is None:
        return None
    found = []
    prologue = None
    for n, (declared, op) in enumerate(zip(tree.prologue, tree.request, strict=False), 1):
        prologue = translatePrologue(declared, None, None, prologue)  # PREFIX and BASE

        def iri(term: Any, prologue: Any = prologue) -> str:
            return term if isinstance(term, str) and term in ("DEFAULT", "ALL", "NAMED") \
                else str(prologue.absolutize(term))

        what = f"operation {n} ({_OPERATION_NAMES.get(op.name, op.name)})"
        targets: list[str] = []
        if op.name in ("InsertData", "DeleteData", "DeleteWhere"):
            targets = _quad_targets(_field(op, "quads"), iri)
        elif op.name == "Modify":
            with_graph = _field(op, "withClause")
            for template in (_field(op, "delete"), _field(op, "insert")):
                if template is not None:
                    targets += [iri(with_graph) if g == "DEFAULT" and with_graph is not None
                                else g for g in _quad_targets(_field(template, "quads"), iri)]
        elif op.name in ("Clear", "Drop"):
            graph = iri(_field(op, "graphiri"))
            targets = ["DEFAULT", COPY_GRAPH] if graph == "ALL" else [graph]
        elif op.name in ("Add", "Copy", "Move"):
            source, target = (iri(g) for g in op["graph"])
            targets = [target, source] if op.name == "Move" else [target]
        found += [(what, g) for g in targets if g in ("DEFAULT", COPY_GRAPH)]
    return found


def _quad_targets(quads: Any, iri: Callable[[Any], str]) -> list[str]:
    """The graphs an rdflib ``Quads`` node writes: ``DEFAULT`` for triples outside any
    ``GRAPH`` block, the IRI of each ``GRAPH <iri>`` block (a variable graph is left out)."""
    from rdflib.term import Variable

    if quads is None:
        return []
    out = ["DEFAULT"] if _default_triples(quads) else []
    for block in _field(quads, "quadsNotTriples") or []:
        term = _field(block, "term")
        if term is not None and not isinstance(term, Variable):
            out.append(iri(term))
    return out


_OPERATION_NAMES = {"InsertData": "INSERT DATA", "DeleteData": "DELETE DATA",
                    "DeleteWhere": "DELETE WHERE", "Modify": "DELETE/INSERT", "Clear": "CLEAR",
                    "Drop": "DROP", "Add": "ADD", "Copy": "COPY", "Move": "MOVE"}


def _field(node: Any, key: str) -> Any:
    """A field of an rdflib parse node, None when absent (its ``get`` answers a missing
    field with the field's name)."""
    return dict.get(node, key)


def _default_triples(quads: Any) -> bool:
    """Whether rdflib's ``Quads`` node holds triples outside any ``GRAPH`` block."""
    return quads is not None and any(len(t) for t in _field(quads, "triples") or [])
