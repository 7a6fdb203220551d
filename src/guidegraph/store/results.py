"""Render query results: a text table, CSV/TSV and JSON/XML per the SPARQL 1.1 results
specs, and RDF formats for CONSTRUCT/DESCRIBE."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from guidegraph.errors import GuidegraphError
from guidegraph.store.base import QueryResult
from guidegraph.vocab import GG

SELECT_FORMATS = ("table", "csv", "tsv", "json", "xml")
GRAPH_FORMATS = ("turtle", "ntriples", "jsonld", "trig", "nquads", "rdfxml")
MEDIA_TYPES = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
    "table": "text/plain; charset=utf-8", "turtle": "text/turtle; charset=utf-8",
    "ntriples": "application/n-triples", "jsonld": "application/ld+json",
}
PREFIXES = {
    "gg": GG,
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "cito": "http://purl.org/spar/cito/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def _json_term(term: Any) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = term.datatype.value
    return out


def _plain(term: Any) -> str:
    """CSV form: IRIs and literals by their value (SPARQL 1.1 CSV is lossy by design)."""
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return term.value


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


def _cell(text: str) -> str:
    """A table cell of at most 80 characters; a longer value ends in "…" (cut, not lost:
    csv, tsv and json carry it whole)."""
    return text if len(text) <= _CELL else text[:_CELL - 1] + "…"


_RDF_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
                "jsonld": ox.RdfFormat.JSON_LD, "trig": ox.RdfFormat.TRIG,
                "nquads": ox.RdfFormat.N_QUADS, "rdfxml": ox.RdfFormat.RDF_XML}
#: What Oxigraph's RDF/XML writer declares on every document, for RDF 1.2 text direction.
_ITS_DECLARATION = ' xmlns:its="http://www.w3.org/2005/11/its"'


def _graph(triples: list[ox.Triple], fmt: str) -> str:
    """A CONSTRUCT / DESCRIBE result: the triples, or for TriG and N-Quads the triples as the
    default graph; prefixes only where they are used (Turtle, TriG, RDF/XML)."""
    kind = _RDF_FORMATS[fmt]
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


def render(result: QueryResult, fmt: str) -> str:
    """The result in ``fmt``; raises OutputFormatError when the format does not fit."""
    check_format(result.form, fmt)
    if result.form == "CONSTRUCT":
        return _graph(result.triples or [], fmt)
    if result.form == "ASK":
        if fmt == "json":
            return json.dumps({"head": {}, "boolean": result.boolean}) + "\n"
        if fmt == "xml":
            return ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-'
                    f'results#"><head/><boolean>{str(result.boolean).lower()}</boolean>'
                    "</sparql>\n")
        return f"{str(result.boolean).lower()}\n"
    table = result.table
    assert table is not None
    if fmt == "json":
        return json.dumps({"head": {"vars": table.variables}, "results": {"bindings": [
            {v: _json_term(t) for v, t in zip(table.variables, row, strict=True)
             if t is not None} for row in table.rows]}}, ensure_ascii=False) + "\n"
    if fmt == "xml":
        lines = ['<?xml version="1.0"?>',
                 '<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        lines += [f"<variable name={quoteattr(v)}/>" for v in table.variables]
        lines.append("</head><results>")
        for row in table.rows:
            lines.append("<result>")
            for var, term in zip(table.variables, row, strict=True):
                if term is None:
                    continue
                j = _json_term(term)
                tag = {"uri": "uri", "bnode": "bnode", "literal": "literal"}[j["type"]]
                attrs = ""
                if "xml:lang" in j:
                    attrs = f" xml:lang={quoteattr(j['xml:lang'])}"
                elif "datatype" in j:
                    attrs = f" datatype={quoteattr(j['datatype'])}"
                lines.append(f"<binding name={quoteattr(var)}><{tag}{attrs}>"
                             f"{escape(j['value'])}</{tag}></binding>")
            lines.append("</result>")
        lines.append("</results></sparql>")
        return "\n".join(lines) + "\n"
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        if fmt == "csv":
            writer = csv.writer(buf, lineterminator="\r\n")
            writer.writerow(table.variables)
            writer.writerows([_plain(t) for t in row] for row in table.rows)
        else:
            buf.write("\t".join(f"?{v}" for v in table.variables) + "\n")
            for row in table.rows:
                buf.write("\t".join("" if t is None else str(t) for t in row) + "\n")
        return buf.getvalue()
    cells = [[_cell(_short(t)) for t in row] for row in table.rows]
    widths = [max([len(v), *(len(r[i]) for r in cells)]) for i, v in enumerate(table.variables)]
    widths = [min(w, 80) for w in widths]
    lines = [" | ".join(v.ljust(w) for v, w in zip(table.variables, widths, strict=True)),
             "-+-".join("-" * w for w in widths)]
    for row in cells:
        lines.append(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    note = f"{len(table.rows)} row{'s' if len(table.rows) != 1 else ''}"
    if table.truncated:
        note += f" (more rows exist: stopped at the limit of {len(table.rows)})"
    return "\n".join([*lines, note]) + "\n"
