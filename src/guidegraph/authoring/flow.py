"""Flow: the directed graphs a guideline draws, checked with networkx.

Three graphs, one question each: do an algorithm's steps form one acyclic flow from its
first step; does explicit superiority (gg:overrides) loop; do dependent actions (criteria
reading another action's verdict, gg:verdictOf) loop. Reachability and cycles are awkward
in SHACL, and the dependency cycles must be read from the RDF because the reasoner refuses
to load a guideline that has one (so the decision searches cannot see them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import rdflib
from rdflib import RDF, RDFS, SKOS

from guidegraph.authoring.report import GG, GGSH, Finding, node_label, node_name

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["DECISION_DEPENDENCY_CYCLE", "DECISION_OVERRIDE_CYCLE", "FLOW_CYCLE",
           "FLOW_DEAD_END", "FLOW_UNREACHABLE", "algorithm_checks", "decision_cycle_checks"]


# Sources of the results (described in authoring.ttl).
FLOW_UNREACHABLE, FLOW_CYCLE, FLOW_DEAD_END = (GGSH["AlgorithmFlow-" + name] for name in (
    "unreachable", "cycle", "deadEnd"))
DECISION_OVERRIDE_CYCLE, DECISION_DEPENDENCY_CYCLE = (
    GGSH["DecisionCheck-" + name] for name in ("overrideCycle", "dependencyCycle"))
#: At most this many cycles are reported per check (a dense graph has very many).
_MAX_CYCLES = 50


# ---------------------------------------------------------------------------
# Algorithm flow
# ---------------------------------------------------------------------------
def _step_name(g: rdflib.Graph, node: rdflib.term.Node) -> str:
    number = g.value(node, GG.stepNumber)
    label = g.value(node, RDFS.label) or g.value(node, SKOS.notation)
    if number is not None:
        return f"step {number}" + (f" ({label})" if label else "")
    return str(label) if label else node_name(g, node) or str(node)


def algorithm_checks(g: rdflib.Graph) -> list[Finding]:
    """Each algorithm must be one acyclic flow from its first step reaching every step."""
    import networkx as nx

    out: list[Finding] = []
    for alg in sorted(g.subjects(RDF.type, GG.Algorithm)):
        first = g.value(alg, GG.firstStep)
        if first is None:
            continue  # the SHACL shape reports the missing first step
        alg_name = node_label(g, alg) or node_name(g, alg)
        members = set(g.subjects(GG.inAlgorithm, alg)) | {first}
        flow = _flow_graph(g, members)
        reachable = nx.descendants(flow, first) | {first}
        out += _unreachable(g, alg_name, members - reachable)
        out += _loops(g, alg_name, flow)
        out += _dead_ends(g, alg_name, flow, reachable)
    return out


def _flow_graph(g: rdflib.Graph, members: set[rdflib.term.Node]) -> nx.DiGraph:
    """Steps as nodes, gg:nextStep and branch targets as edges."""
    import networkx as nx

    flow = nx.DiGraph()
    flow.add_nodes_from(members)
    for node in members:
        for nxt in g.objects(node, GG.nextStep):
            flow.add_edge(node, nxt)
        for branch in g.objects(node, GG.branch):
            for target in g.objects(branch, GG.branchTarget):
                flow.add_edge(node, target)
    return flow


def _unreachable(g: rdflib.Graph, alg_name: str | None,
                 nodes: set[rdflib.term.Node]) -> list[Finding]:
    return [(FLOW_UNREACHABLE, "Violation", node,
             f"Algorithm {alg_name}: {_step_name(g, node)} cannot be reached from the "
             "first step: link it with gg:nextStep or a gg:branch from an earlier step, "
             "or remove it.", None)
            for node in sorted(nodes, key=str)]


def _loops(g: rdflib.Graph, alg_name: str | None, flow: nx.DiGraph) -> list[Finding]:
    import networkx as nx

    out: list[Finding] = []
    for component in nx.strongly_connected_components(flow):
        nodes = sorted(component, key=lambda n: (int(g.value(n, GG.stepNumber) or 0), str(n)))
        if len(nodes) == 1 and not flow.has_edge(nodes[0], nodes[0]):
            continue
        names = ", ".join(_step_name(g, n) for n in nodes)
        out.append((
            FLOW_CYCLE, "Violation", nodes[0],
            f"Algorithm {alg_name} loops: {names} lead back to each other. An "
            "algorithm must be acyclic: point the last step of the loop to a later step "
            "or a gg:AlgorithmEnd.", None))
    return out


def _dead_ends(g: rdflib.Graph, alg_name: str | None, flow: nx.DiGraph,
               reachable: set[rdflib.term.Node]) -> list[Finding]:
    return [(FLOW_DEAD_END, "Violation", node,
             f"Algorithm {alg_name}: {_step_name(g, node)} has no way out: add "
             "gg:nextStep or a gg:branch, ending in a gg:AlgorithmEnd where the "
             "pathway stops.", None)
            for node in sorted(reachable, key=str)
            if (node, RDF.type, GG.AlgorithmStep) in g and flow.out_degree(node) == 0]


# ---------------------------------------------------------------------------
# Overrides and dependent actions
# ---------------------------------------------------------------------------
def _rotated(cycle: list, name: Callable[[Any], str]) -> list:
    """A cycle started at its smallest member by name, so reports are stable."""
    start = cycle.index(min(cycle, key=name))
    return cycle[start:] + cycle[:start]


def decision_cycle_checks(g: rdflib.Graph) -> tuple[list[Finding], set[rdflib.term.Node]]:
    """Cycles among gg:overrides, and among actions whose criteria read each other's
    verdict (gg:verdictOf). Read from the RDF, since the reasoner refuses to load a guideline
    with a dependency cycle; returns the findings and the guidelines that have one."""
    found, cyclic = _dependency_cycles(g)
    return [*_override_cycles(g), *found], cyclic


def _rec_name(g: rdflib.Graph, node: rdflib.term.Node) -> str:
    return node_label(g, node) or node_name(g, node) or str(node)


def _override_cycles(g: rdflib.Graph) -> list[Finding]:
    """Explicit superiority that loops (networkx simple cycles, at most _MAX_CYCLES)."""
    import networkx as nx

    out: list[Finding] = []
    overrides = nx.DiGraph()
    overrides.add_edges_from(g.subject_objects(GG.overrides))

    def rec_name(node: rdflib.term.Node) -> str:
        return _rec_name(g, node)

    for n, cycle in enumerate(nx.simple_cycles(overrides)):
        if n >= _MAX_CYCLES:
            break
        cycle = _rotated(cycle, rec_name)
        loop = " gg:overrides ".join(rec_name(r) for r in (*cycle, cycle[0]))
        out.append((
            DECISION_OVERRIDE_CYCLE, "Violation", cycle[0],
            f"Recommendations override each other in a cycle: {loop}. Explicit superiority "
            "must not loop (two statements that override each other stay unordered; a longer "
            "loop sets every statement in it aside): remove the gg:overrides that does not "
            "hold.", None))
    return out


def _dependency_cycles(g: rdflib.Graph) -> tuple[list[Finding], set[rdflib.term.Node]]:
    """Per guideline, actions whose criteria read each other's verdicts in a cycle."""
    import networkx as nx

    out: list[Finding] = []
    cyclic: set[rdflib.term.Node] = set()
    for guideline in sorted(g.subjects(RDF.type, GG.Guideline), key=str):
        deps, readers = _dependency_graph(g, guideline)

        def action_name(node: rdflib.term.Node) -> str:
            return str(g.value(node, SKOS.notation) or _local_name(node))

        for n, cycle in enumerate(nx.simple_cycles(deps)):
            if n >= _MAX_CYCLES:
                break
            cyclic.add(guideline)
            cycle = _rotated(cycle, action_name)
            path = " -> ".join(action_name(a) for a in (*cycle, cycle[0]))
            edges = list(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
            crits = ", ".join(sorted({c for e in edges for c in readers.get(e, ())}))
            out.append((
                DECISION_DEPENDENCY_CYCLE, "Violation", guideline,
                f"Dependent actions form a cycle: {path} (criteria {crits} read these "
                "verdicts), so no action of the cycle can be decided first and the reasoner "
                "refuses to load the guideline. Make one of the actions independent of the "
                "other's verdict (remove or replace its gg:verdictOf criterion). The conflict "
                "and reachability checks were skipped for this guideline.", None))
    return out, cyclic


def _dependency_graph(
    g: rdflib.Graph, guideline: rdflib.term.Node
) -> tuple[nx.DiGraph, dict[tuple, set[str]]]:
    """Edges from the action whose verdict a criterion reads to the action it decides, and
    per edge the names of the criteria that read it."""
    import networkx as nx

    recs = set(g.subjects(GG.partOfGuideline, guideline)) | set(
        g.objects(guideline, GG.hasRecommendation))
    deps = nx.DiGraph()
    readers: dict[tuple, set[str]] = {}
    for rec in recs:
        action = g.value(rec, GG.action)
        if action is None or (rec, RDF.type, GG.Recommendation) not in g:
            continue
        todo = [*g.objects(rec, GG.hasCriterion), *g.objects(rec, GG.scopeCriterion)]
        seen: set[rdflib.term.Node] = set()
        while todo:
            cond = todo.pop()
            if cond in seen:
                continue
            seen.add(cond)
            todo.extend(g.objects(cond, GG.member))
            for parent in g.objects(cond, GG.verdictOf):
                deps.add_edge(parent, action)
                readers.setdefault((parent, action), set()).add(_rec_name(g, cond))
    return deps, readers


def _local_name(node: rdflib.term.Node) -> str:
    text = str(node).rstrip("/#")
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
