"""Render query results: a text table, and the SPARQL 1.1 results formats (SELECT, ASK) and
RDF formats (CONSTRUCT, DESCRIBE) as pyoxigraph writes them."""

from __future__ import annotations

import textwrap
from typing import Any

import pyoxigraph as ox
from tabulate import tabulate

from guidegraph.errors import GuidegraphError
from guidegraph.rdf_formats import BY_NAME, FORMATS
from guidegraph.store.base import QueryResult, Table
from guidegraph.vocab import CITO, GG, PROV, RDFS, SKOS, XSD

SELECT_FORMATS = ("table", "csv", "tsv", "json", "xml")
GRAPH_FORMATS = tuple(f.name for f in FORMATS)
#: Media type of every output format: SPARQL results, the text table, RDF graphs.
MEDIA_TYPES = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
    "table": "text/plain; charset=utf-8", **{f.name: f.media_type for f in FORMATS},
}
PREFIXES = {
    "gg": GG,
    "prov": PROV,
    "skos": SKOS,
    "rdfs": RDFS,
    "cito": CITO,
    "xsd": XSD,
}


def _short(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns):
                return f"{prefix}:{term.value[len(ns):]}"
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):
        return _nt(term)
    return term.value


class OutputFormatError(GuidegraphError, ValueError):
    """An output format that does not fit the query form (a table of a graph, Turtle of rows)."""

    exit_code = 2


def check_format(form: str, fmt: str) -> None:
    """Refuse ``fmt`` for a query of ``form`` (SELECT, ASK, CONSTRUCT) before anything runs."""
    if form == "CONSTRUCT" and fmt not in GRAPH_FORMATS:
        raise OutputFormatError(f"format {fmt!r} does not fit a CONSTRUCT/DESCRIBE query; use "
                                f"one of {', '.join(GRAPH_FORMATS)}")
    if form != "CONSTRUCT" and fmt not in SELECT_FORMATS:
        raise OutputFormatError(f"format {fmt!r} does not fit a {form} query; use one of "
                                f"{', '.join(SELECT_FORMATS)}")


_CELL = 80
#: Breaks lines only: no whitespace dropped, replaced or expanded, so a cell's lines joined
#: are its value exactly (tabulate's own ``maxcolwidths`` drops the spaces it breaks at).
_WRAP = textwrap.TextWrapper(_CELL, expand_tabs=False, replace_whitespace=False,
                             drop_whitespace=False, break_on_hyphens=False)


def _cell(text: str) -> str:
    """A table cell wrapped at 80 characters, at spaces where it can, losing none."""
    if len(text) <= _CELL and "\n" not in text:
        return text  # most cells: textwrap would cost more than the rest of the table
    return "\n".join(part for line in text.split("\n") for part in _WRAP.wrap(line) or [""])


#: What Oxigraph's RDF/XML writer declares on every document, for RDF 1.2 text direction.
_ITS_DECLARATION = ' xmlns:its="http://www.w3.org/2005/11/its"'


def _graph(triples: list[ox.Triple], fmt: str) -> str:
    """A CONSTRUCT / DESCRIBE result: the triples, or for TriG and N-Quads the triples as the
    default graph; prefixes only where they are used (Turtle, TriG, RDF/XML)."""
    kind = BY_NAME[fmt].ox
    items: list[Any] = triples
    if fmt in ("trig", "nquads"):
        items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    kwargs: dict[str, Any] = {}
    if fmt in ("turtle", "trig", "rdfxml"):
        used = {t.predicate.value for t in triples} | {
            t.object.value for t in triples if isinstance(t.object, ox.NamedNode)}
        kwargs["prefixes"] = {p: ns for p, ns in PREFIXES.items()
                              if any(v.startswith(ns) for v in used)}
    text = ox.serialize(items, format=kind, **kwargs).decode("utf-8")
    if fmt == "rdfxml" and not any(getattr(t.object, "direction", None) for t in triples):
        text = text.replace(_ITS_DECLARATION, "", 1)  # declared, unused: no directional text
    return text


_RESULTS_FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                    "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}


def _nt(term: Any) -> str:
    """A term in N-Triples syntax (a triple term's ``str()`` lacks its ``<<( )>>``)."""
    if isinstance(term, ox.Triple):
        return f"<<( {_nt(term.subject)} {_nt(term.predicate)} {_nt(term.object)} )>>"
    return str(term)


def _solutions(table: Table) -> ox.QuerySolutions:
    """The materialised rows as pyoxigraph solutions again, for its serializers: the engine's
    own solutions were consumed up to the row cap, and pyoxigraph makes solutions only by
    parsing. TSV carries every term losslessly in N-Triples syntax, and reads about three
    times faster than the same rows as SPARQL JSON."""
    lines = ["\t".join(f"?{v}" for v in table.variables)]
    lines += ["\t".join("" if t is None else _nt(t) for t in row) for row in table.rows]
    return ox.parse_query_results(("\n".join(lines) + "\n").encode(),
                                  format=ox.QueryResultsFormat.TSV)


def _standard(result: QueryResult, fmt: str) -> str:
    """SELECT / ASK results in a SPARQL 1.1 results format, written by pyoxigraph; with a
    final newline where its writer ends without one (JSON, XML, a boolean), so a terminal
    prompt does not follow on the document's last line (whitespace there is allowed)."""
    if result.form == "ASK":
        raw: Any = ox.parse_query_results(b"true" if result.boolean else b"false",
                                          format=ox.QueryResultsFormat.TSV)
    else:
        assert result.table is not None
        raw = _solutions(result.table)
    text = raw.serialize(format=_RESULTS_FORMATS[fmt]).decode("utf-8")
    return text if text.endswith("\n") else text + "\n"


def render(result: QueryResult, fmt: str) -> str:
    """The result in ``fmt``; raises OutputFormatError when the format does not fit."""
    check_format(result.form, fmt)
    if result.form == "CONSTRUCT":
        return _graph(result.triples or [], fmt)
    if fmt in _RESULTS_FORMATS:
        return _standard(result, fmt)
    if result.form == "ASK":
        return f"{str(result.boolean).lower()}\n"
    table = result.table
    assert table is not None
    cells = [[_cell(_short(t)) for t in row] for row in table.rows]
    text = tabulate(cells, headers=table.variables, tablefmt="presto", disable_numparse=True,
                    preserve_whitespace=True) if table.variables else ""
    note = f"{len(table.rows)} row{'s' if len(table.rows) != 1 else ''}"
    if table.truncated:
        note += f" (more rows exist: stopped at the limit of {len(table.rows)})"
    return f"{text}\n{note}\n" if text else f"{note}\n"
