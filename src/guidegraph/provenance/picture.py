"""The derivation behind a result as a picture: case facts → criteria → recommendation →
grade → evidence statements → citations.

The graph is built with networkx from the :class:`~guidegraph.reasoning.result.Result` (read
back from the run's provenance, like ``explain``) and from the knowledge (each recommendation's
evidence and citations), so it can be checked as data; :func:`draw` lays it out in columns
and renders it with matplotlib, imported only when a picture is asked for.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from guidegraph.errors import GuidegraphError
from guidegraph.knowledge.loading import Knowledge
from guidegraph.reasoning.result import RecommendationOutcome, Result, grade_text
from guidegraph.vocab import GG

if TYPE_CHECKING:
    from matplotlib.axes import Axes

COLUMNS = ("fact", "criterion", "recommendation", "grade", "evidence", "citation")
HEADINGS = ("Case facts", "Criteria", "Recommendations", "Grade", "Evidence", "Citations")
FORMATS = {".svg": "svg", ".png": "png"}
_VERDICT = {"met": "applies", "unmet": "does not apply", "unknown": "undecided"}
_CITES = ("http://purl.org/spar/cito/cites", "http://purl.org/spar/cito/citesAsAuthority",
          "http://purl.org/spar/cito/citesAsEvidence")


class GraphFormatError(GuidegraphError):
    """The picture was asked for in a format we cannot draw."""

    exit_code = 2


def picture_format(path: str | Path) -> str:
    """``svg`` or ``png`` from the file suffix; anything else is refused before any work."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise GraphFormatError(f"--graph {path}: cannot draw {suffix or 'a file without a suffix'}"
                               "; use a .svg or .png file name")
    return FORMATS[suffix]


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
    and ``criterion:``, ``evidence:``, ``citation:`` with the item's IRI (reference numbers
    and notations repeat across guidelines). Attributes: ``kind`` (one of :data:`COLUMNS`),
    ``label`` (the text drawn) and ``status``. Criteria and facts are shared between
    recommendations; a grade belongs to one recommendation.
    """
    g = nx.DiGraph(case=result.case_id, run=result.provenance)
    sources = support(knowledge)

    def citation(cit: Citation) -> str:
        node = f"citation:{cit.iri}"
        if cit.status == "retracted":
            label = f"{cit.ref} RETRACTED\n{_wrap(cit.title.removeprefix('RETRACTED: '), 2)}"
        elif cit.status == "unresolved":
            label = f"{cit.ref} not in reference list"
        else:
            label = f"{cit.ref}\n{_wrap(cit.title, 2)}"
        g.add_node(node, kind="citation", label=label, status=cit.status, iri=cit.iri)
        return node

    for rec in chosen(result, rec_id):
        rnode = f"rec:{rec.id}"
        g.add_node(rnode, kind="recommendation", status=rec.status, iri=rec.iri,
                   label=f"{rec.id}\n{rec.direction} {rec.action}\n{_VERDICT[rec.status]}")
        for crit in rec.criteria:
            cnode = f"criterion:{crit.iri or crit.criterion}"
            g.add_node(cnode, kind="criterion", status=crit.status, iri=crit.iri,
                       label=f"{_MARK[crit.status]} {_wrap(crit.label, 3)}")
            g.add_edge(cnode, rnode, rel=crit.status)
            for key in crit.fact_keys:
                default = " (default)" if key in result.defaulted else ""
                fnode = f"fact:{key}"
                g.add_node(fnode, kind="fact", status="present",
                           label=f"{key}={result.facts[key]}{default}")
                g.add_edge(fnode, cnode, rel="tested by")
            for key in crit.missing:
                fnode = f"fact:{key}"
                g.add_node(fnode, kind="fact", status="missing", label=f"{key}: missing")
                g.add_edge(fnode, cnode, rel="missing for")
        gnode = f"grade:{rec.id}"
        g.add_node(gnode, kind="grade", status="", label=_wrap(grade_text(rec), 2))
        g.add_edge(rnode, gnode, rel="graded")
        sup = sources.get(rec.iri, Support())
        for ev in sup.evidence:
            enode = f"evidence:{ev.iri}"
            g.add_node(enode, kind="evidence", status="", iri=ev.iri,
                       label=f"{ev.id}\n{_wrap(ev.label, 2)}")
            g.add_edge(gnode, enode, rel="rests on evidence")
            for cit in ev.citations:
                g.add_edge(enode, citation(cit), rel="cites")
        for cit in sup.citations:
            g.add_edge(rnode, citation(cit), rel="cites")
    return g


_MARK = {"met": "+", "unmet": "−", "unknown": "?"}


def _wrap(text: str, lines: int, width: int = 34) -> str:
    """Wrapped to fit a box; cut with an ellipsis so every box keeps one size class."""
    out = textwrap.wrap(text, width) or [""]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return "\n".join(out)


# ----------------------------------------------------------------------------------------
# Layout and drawing
# ----------------------------------------------------------------------------------------
COLUMN_PITCH = 3.3  # inches between column centres
BOX_WIDTH = 2.6
LINE = 0.16
GAP = 0.14
MARGIN = 0.5


def layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Node centres in inches: one column per kind, each column ordered by the barycentre of
    its neighbours (a few sweeps both ways) so that edges cross less."""
    columns: list[list[str]] = [[n for n, d in g.nodes(data=True) if d["kind"] == kind]
                                for kind in COLUMNS]
    rank = {n: i for col in columns for i, n in enumerate(col)}

    def sweep(order: range, neighbours: str) -> None:
        def centre(n: str, size: int) -> float:
            near = [rank[m] / max(len(columns[COLUMNS.index(g.nodes[m]["kind"])]), 1)
                    for m in getattr(g, neighbours)(n)]
            return sum(near) / len(near) if near else rank[n] / max(size, 1)

        for c in order:
            col = columns[c]
            size = len(col)
            keys = {n: (centre(n, size), rank[n]) for n in col}
            col.sort(key=keys.__getitem__)
            rank.update({n: i for i, n in enumerate(col)})

    for _ in range(3):
        sweep(range(1, len(columns)), "predecessors")
        sweep(range(len(columns) - 2, -1, -1), "successors")
    heights = {n: _height(d["label"]) for n, d in g.nodes(data=True)}
    totals = [sum(heights[n] for n in col) + GAP * max(len(col) - 1, 0) for col in columns]
    tallest = max(totals, default=0.0)
    pos: dict[str, tuple[float, float]] = {}
    for c, col in enumerate(columns):
        y = (tallest + totals[c]) / 2  # centre each column vertically
        for n in col:
            pos[n] = (MARGIN + BOX_WIDTH / 2 + c * COLUMN_PITCH, MARGIN + y - heights[n] / 2)
            y -= heights[n] + GAP
    grade = COLUMNS.index("grade")
    for n in columns[grade]:  # a grade belongs to one recommendation: level with it
        owner = next(iter(g.predecessors(n)), None)
        if owner is not None:
            pos[n] = (pos[n][0], pos[owner][1])
    return pos


def _height(label: str) -> float:
    return LINE * (label.count("\n") + 1) + 0.14


_FACE = {
    ("fact", "present"): ("#e8f1fb", "#2f6db5", "-", "#1a1a1a"),
    ("fact", "missing"): ("#f2f2f2", "#8a8a8a", "--", "#555555"),
    ("criterion", "met"): ("#e6f4ea", "#2e7d32", "-", "#1a1a1a"),
    ("criterion", "unmet"): ("#fdecea", "#c62828", "-", "#1a1a1a"),
    ("criterion", "unknown"): ("#fff8e1", "#b28704", "--", "#1a1a1a"),
    ("recommendation", "met"): ("#c8e6c9", "#1b5e20", "-", "#0b2e0d"),
    ("recommendation", "unmet"): ("#ffcdd2", "#b71c1c", "-", "#3b0a0a"),
    ("recommendation", "unknown"): ("#ffecb3", "#a06d00", "--", "#3b2a00"),
    ("grade", ""): ("#ede7f6", "#5e35b1", "-", "#1a1a1a"),
    ("evidence", ""): ("#ffffff", "#546e7a", "-", "#1a1a1a"),
    ("citation", "retracted"): ("#d32f2f", "#7f0000", "-", "#ffffff"),
    ("citation", "unresolved"): ("#f5f5f5", "#9e9e9e", "--", "#616161"),
}
_DEFAULT_FACE = ("#ffffff", "#455a64", "-", "#1a1a1a")


def draw(g: nx.DiGraph, path: str | Path, title: str = "") -> Path:
    """Render the graph to ``path`` (SVG or PNG by suffix) with matplotlib's Agg canvas."""
    fmt = picture_format(path)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    pos = layout(g)
    width = 2 * MARGIN + BOX_WIDTH + (len(COLUMNS) - 1) * COLUMN_PITCH
    top = max((y + _height(g.nodes[n]["label"]) / 2 for n, (_, y) in pos.items()),
              default=MARGIN)
    height = top + MARGIN + 0.9  # room for the title and the column headings
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "guidegraph",
                                "font.family": "DejaVu Sans", "font.size": 8}):
        fig = Figure(figsize=(width, height))
        FigureCanvasAgg(fig)
        ax: Axes = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        ax.axis("off")
        if title:
            ax.text(MARGIN, height - 0.3, title, fontsize=11, weight="bold", va="center")
        for c, heading in enumerate(HEADINGS):
            ax.text(MARGIN + BOX_WIDTH / 2 + c * COLUMN_PITCH, height - 0.7, heading,
                    fontsize=9.5, weight="bold", ha="center", va="center", color="#37474f")
        for a, b, data in g.edges(data=True):
            (xa, ya), (xb, yb) = pos[a], pos[b]
            rel = data.get("rel", "")
            color = {"unmet": "#c62828", "unknown": "#b28704", "missing for": "#9e9e9e"}.get(
                rel, "#78909c")
            if g.nodes[b]["status"] == "retracted":
                color = "#d32f2f"
            skip = abs(COLUMNS.index(g.nodes[b]["kind"]) - COLUMNS.index(g.nodes[a]["kind"])) > 1
            ax.add_patch(FancyArrowPatch(
                (xa + BOX_WIDTH / 2, ya), (xb - BOX_WIDTH / 2, yb), arrowstyle="-|>",
                mutation_scale=8, color=color, linewidth=0.8, alpha=0.85, zorder=1,
                linestyle="--" if rel in ("unknown", "missing for") else "-",
                connectionstyle="arc3,rad=-0.12" if skip else "arc3,rad=0"))
        for n, (x, y) in pos.items():
            data = g.nodes[n]
            face, edge, style, ink = _FACE.get((data["kind"], data["status"]), _DEFAULT_FACE)
            h = _height(data["label"])
            ax.add_patch(FancyBboxPatch(
                (x - BOX_WIDTH / 2, y - h / 2), BOX_WIDTH, h,
                boxstyle="round,pad=0,rounding_size=0.06", facecolor=face, edgecolor=edge,
                linestyle=style, linewidth=1.6 if data["kind"] == "recommendation" else 1.0,
                zorder=2))
            bold = data["kind"] == "recommendation" or data["status"] == "retracted"
            ax.text(x, y, data["label"], ha="center", va="center", color=ink, zorder=3,
                    weight="bold" if bold else "normal", linespacing=1.25)
        out = Path(path)
        fig.savefig(out, format=fmt, dpi=110,
                    metadata={"Date": None} if fmt == "svg" else None)
    return out


def title_for(result: Result, rec_id: str | None = None) -> str:
    what = f"recommendation {rec_id}" if rec_id else (
        f"{len(result.recommendations)} derived recommendations")
    return f"Derivation for case {result.case_id}: {what}"
