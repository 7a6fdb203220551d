"""The derivation behind a result as a picture: case facts → criteria → recommendation →
verdict on its action, and grade → evidence statements → citations.

The graph is built with networkx from the :class:`~guidegraph.reasoning.result.Result` (read
back from the run's provenance, like ``explain``) and from the knowledge (each recommendation's
evidence and citations), so it can be checked as data. :func:`dot_source` writes it as
Graphviz DOT, one rank per column, and :func:`draw` has Graphviz's ``dot`` lay it out and
render it: dot routes edges around the boxes, which a hand-made layout did not.
"""

from __future__ import annotations

import html
import itertools
import json
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import networkx as nx

from guidegraph.errors import GuidegraphError
from guidegraph.knowledge.loading import Knowledge
from guidegraph.provenance.explain import STATUS_SIGN, STATUS_TEXT
from guidegraph.reasoning.result import (
    Conclusion,
    RecommendationOutcome,
    Result,
    grade_text,
    printable,
)
from guidegraph.vocab import GG

COLUMNS = ("fact", "criterion", "recommendation", "verdict", "grade", "evidence", "citation")
HEADINGS = ("Case facts", "Criteria", "Recommendations", "Verdicts", "Grade", "Evidence",
            "Citations")
FORMATS = {".svg": "svg", ".png": "png"}
DOT = "dot"
_CITES = ("http://purl.org/spar/cito/cites", "http://purl.org/spar/cito/citesAsAuthority",
          "http://purl.org/spar/cito/citesAsEvidence")


class GraphFormatError(GuidegraphError):
    """The picture was asked for in a format we cannot draw."""

    exit_code = 2


class GraphvizMissing(GuidegraphError):
    """Graphviz's ``dot`` is not installed: the picture cannot be laid out (configuration)."""

    exit_code = 2


class GraphvizFailed(GuidegraphError):
    """``dot`` ran and refused the graph; its own message says why."""

    exit_code = 2


def picture_format(path: str | Path) -> str:
    """``svg`` or ``png`` from the file suffix; anything else is refused before any work."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise GraphFormatError(f"--graph {path}: cannot draw {suffix or 'a file without a suffix'}"
                               "; use a .svg or .png file name")
    return FORMATS[suffix]


def check_drawable(path: str | Path) -> str:
    """The format of ``path``, once it is known that it can be drawn here: a bad suffix or a
    missing ``dot`` is refused before any reasoning is done."""
    fmt = picture_format(path)
    if shutil.which(DOT) is None:
        raise GraphvizMissing(_MISSING.format(path=path))
    return fmt


_MISSING = ("--graph {path}: drawing needs Graphviz's `dot` program, which is not on PATH; "
            "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
            "graphviz)")


# ----------------------------------------------------------------------------------------
# What the knowledge says about each recommendation's support
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Citation:
    iri: str
    number: str  # reference number as printed, e.g. "2"; "" when the source gives none
    title: str
    status: str  # active | retracted | unresolved | …
    guideline: str = ""  # notation of the guideline it belongs to

    @property
    def ref(self) -> str:
        return f"[{self.number}]" if self.number else self.iri.rsplit("/", 1)[-1]


@dataclass
class Evidence:
    iri: str
    id: str
    label: str
    statement: str
    citations: list[Citation] = field(default_factory=list)


@dataclass
class Support:
    """A recommendation's evidence statements and the citations it names directly."""

    evidence: list[Evidence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)


_CITATIONS = f"""
PREFIX gg: <{GG}>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?c ?number ?status ?title ?label ?guideline WHERE {{
  ?c a gg:Citation .
  OPTIONAL {{ ?c gg:referenceNumber ?number }}
  OPTIONAL {{ ?c gg:partOfGuideline ?own }}
  OPTIONAL {{ ?x {' | '.join(f'<{p}>' for p in _CITES)} ?c ; gg:partOfGuideline ?citer }}
  OPTIONAL {{ ?gl skos:notation ?guideline . FILTER(?gl = COALESCE(?own, ?citer)) }}
  OPTIONAL {{ ?c gg:citationStatus ?s . OPTIONAL {{ ?s skos:notation ?sn }}
             BIND(COALESCE(?sn, REPLACE(STR(?s), "^.*[#/]", "")) AS ?status) }}
  OPTIONAL {{ ?c dcterms:title ?title }} OPTIONAL {{ ?c rdfs:label ?label }}
}}"""
_EVIDENCE = f"""
PREFIX gg: <{GG}>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?rec ?ev ?id ?label ?statement WHERE {{
  ?rec gg:hasEvidence ?ev .
  OPTIONAL {{ ?ev skos:notation ?id }} OPTIONAL {{ ?ev rdfs:label ?label }}
  OPTIONAL {{ ?ev gg:statement ?statement }}
}}"""
_CITING = ("SELECT ?from ?c WHERE { ?from ?p ?c . VALUES ?p { "
           + " ".join(f"<{p}>" for p in _CITES) + " } }")


def citations(knowledge: Knowledge) -> dict[str, Citation]:
    """Every reference of the loaded guidelines, by IRI, in reference-number order."""
    cits: dict[str, Citation] = {}
    for row in knowledge.store.query(_CITATIONS):
        iri = row["c"].value
        if iri in cits:  # several labels or titles: keep the first, the reference is one
            continue
        title = row["title"] or row["label"]
        cits[iri] = Citation(iri, row["number"].value if row["number"] else "",
                             title.value if title else "",
                             row["status"].value if row["status"] else "active",
                             row["guideline"].value if row["guideline"] else "")
    return dict(sorted(cits.items(), key=lambda kv: (kv[1].guideline, _number_order(kv[1]))))


def _number_order(c: Citation) -> tuple[int, str]:
    return (int(c.number) if c.number.isdigit() else 10**9, c.iri)


def support(knowledge: Knowledge) -> dict[str, Support]:
    """Evidence and direct citations of every recommendation, by recommendation IRI."""
    store = knowledge.store
    cits = citations(knowledge)
    cited_by: dict[str, list[Citation]] = {}
    for row in store.query(_CITING):
        cit = cits.get(row["c"].value)
        if cit is not None:
            cited_by.setdefault(row["from"].value, []).append(cit)
    for listed in cited_by.values():
        listed[:] = sorted(set(listed), key=_number_order)
    out: dict[str, Support] = {}
    seen: set[tuple[str, str]] = set()
    for row in store.query(_EVIDENCE):
        rec, ev = row["rec"].value, row["ev"].value
        if (rec, ev) in seen:
            continue
        seen.add((rec, ev))
        ident = row["id"].value if row["id"] else ev.rsplit("/", 1)[-1]
        out.setdefault(rec, Support()).evidence.append(Evidence(
            ev, ident, row["label"].value if row["label"] else ident,
            row["statement"].value if row["statement"] else "", cited_by.get(ev, [])))
    for item, listed in cited_by.items():  # evidence statements too: harmless, never asked
        out.setdefault(item, Support()).citations = listed
    for sup in out.values():
        sup.evidence.sort(key=lambda e: e.id)
    return out


# ----------------------------------------------------------------------------------------
# The graph
# ----------------------------------------------------------------------------------------
def chosen(result: Result, rec_id: str | None = None) -> list[RecommendationOutcome]:
    """The outcomes to draw: every derived recommendation, or the one asked for."""
    if rec_id is None:
        return list(result.recommendations)
    return [r for r in result.all_outcomes() if r.id == rec_id]


def build(result: Result, knowledge: Knowledge, rec_id: str | None = None) -> nx.DiGraph:
    """The derivation as a directed graph, edges pointing from premise to conclusion.

    Node keys name the kind and the item: ``fact:<key>``, ``rec:<id>``, ``grade:<rec id>``,
    ``verdict:<guideline>/<action>``, and ``criterion:``, ``evidence:``, ``citation:`` with
    the item's IRI (reference numbers and notations repeat across guidelines). Attributes:
    ``kind`` (one of :data:`COLUMNS`), ``label`` (the text drawn) and ``status`` (a verdict's
    is its direction). Criteria and facts are shared between recommendations; a grade
    belongs to one recommendation. Each recommendation has one edge to the verdict on its
    action, saying what it did there (``rel``: decides, set aside, pending, …), and a
    statement that prevailed has a ``sets aside`` edge to each it set aside, with the
    precedence ``rule``.
    """
    g = nx.DiGraph(case=result.case_id, run=result.provenance)
    sources = support(knowledge)
    drawn = chosen(result, rec_id)
    for rec in drawn:
        rnode = _statement(g, rec)
        _criteria(g, result, rec, rnode)
        _support(g, rec, rnode, sources.get(rec.iri, Support()))
    _verdicts(g, result, drawn, every=rec_id is None)
    return g


def _statement(g: nx.DiGraph, rec: RecommendationOutcome) -> str:
    node = f"rec:{rec.id}"
    g.add_node(node, kind="recommendation", status=rec.status, iri=rec.iri,
               action=rec.action, guideline=rec.guideline,
               label=f"{rec.id}\n{rec.direction} {rec.action}\n{STATUS_TEXT[rec.status]}")
    return node


def _criteria(g: nx.DiGraph, result: Result, rec: RecommendationOutcome, rnode: str) -> None:
    """Each criterion with the facts it read or missed; fact values come from the case, so
    they are made printable (a newline in a value must not start a line of the box)."""
    for crit in rec.criteria:
        cnode = f"criterion:{crit.iri or crit.criterion}"
        g.add_node(cnode, kind="criterion", status=crit.status, iri=crit.iri,
                   label=f"{STATUS_SIGN[crit.status]} {_wrap(crit.label, 3)}")
        g.add_edge(cnode, rnode, rel=crit.status)
        for key in crit.fact_keys:
            default = " (default)" if key in result.defaulted else ""
            fnode = f"fact:{key}"
            g.add_node(fnode, kind="fact", status="present",
                       label=printable(f"{key}={result.facts[key]}") + default)
            g.add_edge(fnode, cnode, rel="tested by")
        for key in crit.missing:
            fnode = f"fact:{key}"
            g.add_node(fnode, kind="fact", status="missing", label=f"{printable(key)}: missing")
            g.add_edge(fnode, cnode, rel="missing for")


def _support(g: nx.DiGraph, rec: RecommendationOutcome, rnode: str, sup: Support) -> None:
    """The grade, the evidence statements it rests on and the citations of both."""
    gnode = f"grade:{rec.id}"
    g.add_node(gnode, kind="grade", status="", label=_wrap(grade_text(rec), 2))
    g.add_edge(rnode, gnode, rel="graded")
    for ev in sup.evidence:
        enode = f"evidence:{ev.iri}"
        g.add_node(enode, kind="evidence", status="", iri=ev.iri,
                   label=f"{ev.id}\n{_wrap(ev.label, 2)}")
        g.add_edge(gnode, enode, rel="rests on evidence")
        for cit in ev.citations:
            g.add_edge(enode, _citation(g, cit), rel="cites")
    for cit in sup.citations:
        g.add_edge(rnode, _citation(g, cit), rel="cites")


def _citation(g: nx.DiGraph, cit: Citation) -> str:
    node = f"citation:{cit.iri}"
    if cit.status == "retracted":
        label = f"{cit.ref} RETRACTED\n{_wrap(cit.title.removeprefix('RETRACTED: '), 2)}"
    elif cit.status == "unresolved":
        label = f"{cit.ref} not in reference list"
    else:
        label = f"{cit.ref}\n{_wrap(cit.title, 2)}"
    g.add_node(node, kind="citation", status=cit.status, iri=cit.iri, label=label)
    return node


def _verdicts(g: nx.DiGraph, result: Result, drawn: list[RecommendationOutcome],
              every: bool) -> None:
    """The verdicts on the drawn recommendations' actions (all of them when every
    derived recommendation is drawn), and which statement set aside which, by which rule.

    A statement on the other end of an override of a drawn one is added without its
    criteria, so that the picture of one recommendation still says what prevailed over it;
    every override between statements in the picture is drawn.
    """
    outcomes = {(r.guideline, r.id): r for r in result.all_outcomes()}
    asked = {(r.guideline, r.action) for r in drawn}
    shown = {r.id for r in drawn}
    for c in result.conclusions:
        if not every and (c.guideline, c.action) not in asked:
            continue
        vnode = f"verdict:{c.guideline}/{c.action}"
        g.add_node(vnode, kind="verdict", status=c.direction, iri=c.action_iri,
                   action=c.action, guideline=c.guideline, label=verdict_label(c))
        near = [i for o in c.overridden for w in o.by if every or {w, o.id} & shown
                for i in (w, o.id)]
        for i in dict.fromkeys(near):
            if f"rec:{i}" not in g and (c.guideline, i) in outcomes:
                _statement(g, outcomes[(c.guideline, i)])
        for o in c.overridden:
            for winner in o.by:
                if f"rec:{winner}" in g and f"rec:{o.id}" in g:
                    _sets_aside(g, f"rec:{winner}", f"rec:{o.id}", o.rule)
        for node, data in list(g.nodes(data=True)):
            if data["kind"] == "recommendation" and (
                    data["guideline"], data["action"]) == (c.guideline, c.action):
                g.add_edge(node, vnode, rel=role(c, node.removeprefix("rec:"), data["status"]))


def _sets_aside(g: nx.DiGraph, winner: str, loser: str, rule: str) -> None:
    """One edge per pair of statements; several rules between them are listed together."""
    if g.has_edge(winner, loser):
        rules = {*g.edges[winner, loser]["rule"].split(", "), rule}
        g.edges[winner, loser]["rule"] = ", ".join(sorted(rules))
    else:
        g.add_edge(winner, loser, rel="sets aside", rule=rule)


def role(c: Conclusion, rec_id: str, status: str) -> str:
    """What one statement did in a verdict: the edge from it to the verdict says so."""
    if rec_id in c.decided_by:  # an undecided verdict lists what stands so far
        return {"conflict": "conflicts", "undecided": "stands"}.get(c.direction, "decides")
    if any(o.id == rec_id for o in c.overridden):
        return "set aside"
    if any(p.id == rec_id for p in c.pending):
        return "pending"
    return {"met": "not deciding", "unmet": "does not apply"}.get(status, "undecided")


def verdict_label(c: Conclusion) -> str:
    """The verdict as the picture's box says it: action, direction, what decided it."""
    if c.direction == "undecided":
        detail = "needs " + (", ".join(c.missing_facts) or "nothing listed")
    elif c.direction == "conflict":  # the reasoner's warning says which sides and why
        note = next((w for w in c.warnings if w.startswith("conflict:")), "")
        detail = note.removeprefix("conflict: ") or "statements that disagree both stand"
    elif not c.decided_by:
        detail = "no supported statement applies"
    else:
        more = f" +{len(c.decided_by) - 1} more" if len(c.decided_by) > 1 else ""
        detail = f"by {c.decided_by[0]}{more}" + (f" ({c.strength})" if c.strength else "")
    lines = [f"{c.action} [{c.guideline}]", c.direction.upper(), _wrap(detail, 3)]
    aside = len({o.id for o in c.overridden})
    if aside:
        lines.append(f"{aside} statement{'s' if aside > 1 else ''} set aside")
    return "\n".join(lines)




def _wrap(text: str, lines: int, width: int = 34) -> str:
    """Wrapped to fit a box; cut with an ellipsis so every box keeps one size class."""
    out = textwrap.wrap(text, width) or [""]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return "\n".join(out)


# ----------------------------------------------------------------------------------------
# DOT and rendering
# ----------------------------------------------------------------------------------------
FONT = "DejaVu Sans"
PNG_DPI = 110

def _style() -> tuple[dict, tuple, dict, tuple]:
    """Colours and line styles of the picture, by node kind and status and by edge relation:
    presentation data in picture-style.json beside this module, not code."""
    data = json.loads((Path(__file__).parent / "picture-style.json").read_text(encoding="utf-8"))
    node = ("fill", "border", "line", "text")
    edge = ("colour", "line", "label")
    faces = {(n["kind"], n["status"]): tuple(n[k] for k in node) for n in data["nodes"]}
    edges = {e["relation"]: tuple(e[k] for k in edge) for e in data["edges"]}
    return (faces, tuple(data["node_default"][k] for k in node), edges,
            tuple(data["edge_default"][k] for k in edge))


#: (fill, border, line style, text colour) by (kind, status); (colour, line style, words on
#: the edge) by relation, criteria edges unlabelled
_FACE, _DEFAULT_FACE, _EDGE, _DEFAULT_EDGE = _style()


def html_label(text: str, bold_first: bool = False, size: float | None = None) -> str:
    """``text`` as a Graphviz HTML-like label, one line per line of it.

    Each line is made printable and escaped: ``& < > " '`` as entities, so no text can end
    the label or the DOT statement, and a backslash doubled, because dot expands ``\\N`` and
    ``\\G`` even inside HTML labels. An empty line is a space: dot refuses an empty label.
    """
    lines = [html.escape(printable(line).replace("\\", "\\\\"), quote=True) or " "
             for line in text.split("\n")]
    if bold_first:
        lines[0] = f"<B>{lines[0]}</B>"
    body = "<BR/>".join(lines)
    if size is not None:
        body = f'<FONT POINT-SIZE="{size:g}">{body}</FONT>'
    return f"<{body}>"


def dot_source(g: nx.DiGraph, title: str = "", dpi: int | None = None) -> str:
    """The graph as DOT: left to right, one rank per column of :data:`COLUMNS`.

    Nodes get ids ``n0``, ``n1``, … in the graph's order, so no key (an IRI, a fact key from
    the case) is ever written as a DOT id, and the same graph always gives the same text.
    An edge's ``minlen`` is the number of columns it spans, so columns keep their order
    whichever edges there are (a citation named by a recommendation stays right of the
    evidence column). Columns are ranks, not clusters: dot then keeps a verdict level with
    its statements and routes edges straight rather than around cluster frames.
    """
    graph_attr = {"rankdir": "LR", "newrank": "true", "fontname": FONT, "nodesep": "0.2",
                  "ranksep": "0.5", "labelloc": "t", "labeljust": "l", "bgcolor": "white"}
    if title:
        graph_attr["label"] = html_label(title, bold_first=True, size=14)
    if dpi is not None:
        graph_attr["dpi"] = str(dpi)
    dot = graphviz.Digraph("derivation", graph_attr=graph_attr,
                           node_attr={"shape": "box", "fontname": FONT, "fontsize": "9",
                                      "margin": "0.12,0.06"},
                           edge_attr={"fontname": FONT, "fontsize": "8", "arrowsize": "0.6",
                                      "penwidth": "0.9"})
    ids = {n: f"n{i}" for i, n in enumerate(g.nodes)}
    _columns(dot, g, ids)
    column = {kind: i for i, kind in enumerate(COLUMNS)}
    for a, b, data in g.edges(data=True):
        attrs = _edge_attrs(data, g.nodes[b]["status"])
        span = column[g.nodes[b]["kind"]] - column[g.nodes[a]["kind"]]
        if span > 0:  # keep every column in its place, even where an edge skips some
            attrs["minlen"] = str(span)
        else:  # within a column (a statement setting another aside): no rank constraint
            attrs["constraint"] = "false"
        dot.edge(ids[a], ids[b], **attrs)
    return dot.source


def _columns(dot: graphviz.Digraph, g: nx.DiGraph, ids: dict[str, str]) -> None:
    """One ``rank=same`` group per column, headed by its heading; the headings are written
    first and chained by invisible edges, which puts them in a row above the boxes."""
    present = [(i, kind, heading) for i, (kind, heading) in enumerate(zip(COLUMNS, HEADINGS,
                                                                          strict=True))
               if any(d["kind"] == kind for _, d in g.nodes(data=True))]
    for i, kind, heading in present:
        with dot.subgraph(name=f"column_{kind}") as column:
            column.attr(rank="same")
            for n, data in g.nodes(data=True):
                if data["kind"] == kind:
                    column.node(ids[n], **_node_attrs(data))
            column.node(f"h{i}", label=html_label(heading, bold_first=True, size=10),
                        shape="plaintext", fontcolor="#37474f")
    for (i, _, _), (j, _, _) in itertools.pairwise(present):
        dot.edge(f"h{i}", f"h{j}", style="invis", minlen=str(j - i), weight="10")


def _node_attrs(data: dict[str, Any]) -> dict[str, str]:
    fill, border, line, ink = _FACE.get((data["kind"], data["status"]), _DEFAULT_FACE)
    strong = data["kind"] in ("recommendation", "verdict")
    return {"label": html_label(data["label"], strong or data["status"] == "retracted"),
            "style": f"rounded,filled,{line}", "fillcolor": fill, "color": border,
            "fontcolor": ink, "penwidth": "1.8" if strong else "1"}


def _edge_attrs(data: dict[str, Any], target_status: str) -> dict[str, str]:
    rel = data.get("rel", "")
    color, style, words = _EDGE.get(rel, _DEFAULT_EDGE)
    if target_status == "retracted":
        color = "#d32f2f"
    attrs = {"color": color, "style": style}
    if rel == "sets aside":
        words = f"sets aside\n({data.get('rule', '')})"
        attrs["arrowhead"] = "tee"
    if words:
        attrs.update(label=html_label(words), fontcolor=color)
    if rel == "sets aside":  # a flat edge: dot places an xlabel clear of the boxes
        attrs["xlabel"] = attrs.pop("label")
    return attrs


def draw(g: nx.DiGraph, path: str | Path, title: str = "") -> Path:
    """Render the graph to ``path`` (SVG or PNG by suffix) with Graphviz's ``dot``.

    dot writes no date into either format, so the same graph gives the same bytes.
    """
    fmt = check_drawable(path)
    source = graphviz.Source(dot_source(g, title, PNG_DPI if fmt == "png" else None),
                             engine=DOT)
    try:
        data = source.pipe(format=fmt, quiet=True)
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizMissing(_MISSING.format(path=path)) from exc
    except graphviz.CalledProcessError as exc:
        said = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise GraphvizFailed(f"--graph {path}: dot could not draw it: {said}") from exc
    out = Path(path)
    out.write_bytes(data)
    return out


def title_for(result: Result, rec_id: str | None = None) -> str:
    what = f"recommendation {rec_id}" if rec_id else (
        f"{len(result.recommendations)} derived recommendations")
    return f"Derivation for case {result.case_id}: {what}"
