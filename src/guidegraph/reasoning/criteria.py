"""Compile criteria (data in the guideline graph) into an evaluation plan, and evaluate it.

The plan is built once per process from SPARQL over the knowledge store
(queries/derive/*.rq). Evaluation uses Kleene three-valued logic: a missing fact makes a
criterion unknown, never unmet. Semantics are defined by queries/derive/criterion-status.rq;
tests hold this compiled form to it on every fixture and on generated cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guidegraph.errors import ConfigurationError
from guidegraph.intake.contract import CaseContract
from guidegraph.knowledge.loading import Knowledge
from guidegraph.knowledge.rows import Lit, text
from guidegraph.lexical import literal_value
from guidegraph.reasoning.plan import MET, UNKNOWN, UNMET, Condition, Criterion, Group, Plan
from guidegraph.vocab import GG

_GROUP_KINDS = {GG + "AllOf": "all", GG + "AnyOf": "any", GG + "NoneOf": "none"}


def combine(kind: str, statuses: list[str]) -> str:
    """Kleene combination of member statuses."""
    if kind == "all":
        if UNMET in statuses:
            return UNMET
        return UNKNOWN if UNKNOWN in statuses else MET
    if kind == "any":
        if MET in statuses:
            return MET
        return UNKNOWN if UNKNOWN in statuses else UNMET
    # none-of
    if MET in statuses:
        return UNMET
    return UNKNOWN if UNKNOWN in statuses else MET


def evaluate(cond: Condition, leaf_status: Mapping[str, str], memo: dict[str, str]) -> str:
    """Status of a condition given the status of every leaf criterion (by IRI)."""
    got = memo.get(cond.iri)
    if got is not None:
        return got
    if isinstance(cond, Criterion):
        status = leaf_status[cond.iri]
    else:
        status = combine(cond.kind, [evaluate(m, leaf_status, memo) for m in cond.members])
    memo[cond.iri] = status
    return status


def decisive_leaves(
    cond: Condition, status: str, memo: Mapping[str, str], path: tuple[Group, ...] = ()
) -> list[tuple[Criterion, tuple[Group, ...]]]:
    """The leaf criteria that decided ``cond``'s status, with the groups they sit under.

    Met all-of: every member; unmet all-of: its unmet members; unknown: its unknown members.
    Any-of and none-of mirror this, so explanations name exactly what mattered.
    """
    if isinstance(cond, Criterion):
        return [(cond, path)]
    inner = (*path, cond)
    members = cond.members
    if cond.kind == "all":
        picked = members if status == MET else [m for m in members if memo[m.iri] == status]
    elif cond.kind == "any":
        picked = members if status == UNMET else [m for m in members if memo[m.iri] == status]
    else:
        wanted = {MET: UNMET, UNMET: MET, UNKNOWN: UNKNOWN}[status]
        picked = [m for m in members if memo[m.iri] == wanted]
    out: list[tuple[Criterion, tuple[Group, ...]]] = []
    for member in picked:
        out.extend(decisive_leaves(member, memo[member.iri], memo, inner))
    return out


def leaves(cond: Condition) -> list[Criterion]:
    if isinstance(cond, Criterion):
        return [cond]
    out: list[Criterion] = []
    for member in cond.members:
        out.extend(leaves(member))
    return out


# ----------------------------------------------------------------------------------------
# Compilation
# ----------------------------------------------------------------------------------------
def _literal_value(term: Lit | str) -> Any:
    return literal_value(term.value, term.datatype) if isinstance(term, Lit) else term


_SYMBOLS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "ne": "!=",
            "oneOf": "in", "notOneOf": "not in", "within": "within", "known": "is known"}


def _describe(comparator: str, threshold: Any, concept: Any, allowed: frozenset[str],
              spec: Any) -> str:
    """The test in words, with concept notations from the case contract."""
    names = spec.notations if spec is not None else {}

    def note(iri: str) -> str:
        return names.get(iri, iri.rstrip("/").rsplit("/", 1)[-1])

    symbol = _SYMBOLS.get(comparator, comparator)
    if comparator == "known":
        return symbol
    if comparator in ("oneOf", "notOneOf", "within"):
        return f"{symbol} {{{', '.join(sorted(note(a) for a in allowed))}}}"
    if concept is not None:
        return f"{symbol} {note(concept)}"
    if isinstance(threshold, bool):
        return f"{symbol} {'true' if threshold else 'false'}"
    return f"{symbol} {threshold}"


def compile_plan(knowledge: Knowledge, contract: CaseContract) -> Plan:
    """Compile every condition in the knowledge graph; fail clearly on malformed ones."""
    ranks = {text(row["concept"]): int(text(row["rank"]))
             for row in knowledge.rows("concept-ranks")}
    edges: dict[str, list[tuple[str, str]]] = {}
    for row in knowledge.rows("condition-links"):
        edges.setdefault(row["from"], []).append((text(row["link"]), row["to"]))
    conditions: dict[str, Condition] = {}
    criteria: list[Criterion] = []
    verdict_criteria: list[Criterion] = []
    for row in knowledge.rows("conditions"):
        iri = row["cond"]
        ident = text(row["id"]) or iri.rsplit("/", 1)[-1]
        label = text(row["label"]) or ident
        section = text(row["section"]) or ""
        if row["kind"] in _GROUP_KINDS:
            conditions[iri] = Group(iri, ident, label, section, _GROUP_KINDS[row["kind"]])
        elif row["verdictOf"] is not None:
            verdict_criteria.append(_verdict_criterion(row, ident, label, section,
                                                       edges.get(iri, [])))
            conditions[iri] = verdict_criteria[-1]
        else:
            conditions[iri] = _fact_criterion(row, ident, label, section, edges.get(iri, []),
                                              contract, ranks)
            criteria.append(conditions[iri])
    links = _link(conditions, edges)
    _check_acyclic(conditions)
    criteria.sort(key=lambda c: c.id)
    verdict_criteria.sort(key=lambda c: c.id)
    return Plan(conditions, criteria, ranks, links, verdict_criteria)


def _fact_criterion(row: dict, ident: str, label: str, section: str,
                    edges: list[tuple[str, str]], contract: CaseContract,
                    ranks: Mapping[str, int]) -> Criterion:
    """A criterion on a case fact, with its test compiled."""
    if row["fact"] is None or row["comparator"] is None:
        raise ConfigurationError(f"criterion {ident}: needs gg:fact and gg:comparator")
    spec = contract.by_iri.get(row["fact"])
    if spec is None:
        raise ConfigurationError(
            f"criterion {ident}: fact <{row['fact']}> is not in any case contract")
    comparator = row["comparator"].removeprefix(GG)
    declared = frozenset(to for link, to in edges if link == "allowed")
    allowed = declared | frozenset(to for link, to in edges if link == "allowed-narrower")
    threshold = _literal_value(row["threshold"]) if row["threshold"] else None
    threshold_rank = int(text(row["thresholdRank"])) if row["thresholdRank"] else None
    concept = row["thresholdConcept"]
    if concept is not None and threshold_rank is None:
        if comparator not in ("eq", "ne"):
            raise ConfigurationError(
                f"criterion {ident}: threshold concept has no gg:rank in an ordered scheme")
        allowed = frozenset({concept})
        comparator = "oneOf" if comparator == "eq" else "notOneOf"
    shown = _describe(comparator, threshold, concept, declared, spec)
    return Criterion(iri=row["cond"], id=ident, label=label, section=section, key=spec.key,
                     comparator=comparator, text=f"{spec.key} {shown}".strip(),
                     threshold=threshold, threshold_rank=threshold_rank, allowed=allowed,
                     concept_fact=spec.kind == "concept", ranks=ranks)


def _link(conditions: dict[str, Condition], edges: dict[str, list[tuple[str, str]]]
          ) -> dict[str, list[str]]:
    """Join groups to their members (in id order); the top-level conditions of each
    recommendation and population, by its IRI."""
    links: dict[str, list[str]] = {}
    for source, targets in edges.items():
        for link, target in targets:
            if link == "member":
                group = conditions.get(source)
                member = conditions.get(target)
                if not isinstance(group, Group) or member is None:
                    raise ConfigurationError(f"group <{source}>: member <{target}> is not a "
                                             "criterion or group")
                group.members.append(member)
            elif link == "criterion":
                if target not in conditions:
                    raise ConfigurationError(f"<{source}>: criterion <{target}> is not defined")
                links.setdefault(source, []).append(target)
    for cond in conditions.values():
        if isinstance(cond, Group):
            cond.members.sort(key=lambda m: m.id)
            if not cond.members:
                raise ConfigurationError(f"group {cond.id}: has no members")
    return links


def _verdict_criterion(row: dict, ident: str, label: str, section: str,
                       edges: list[tuple[str, str]]) -> Criterion:
    """A dependent-action criterion: met when the tested action's verdict is allowed.

    Its status is set by the reasoner from the verdict (see queries/decide/
    verdict-criteria.rq for the reference); ``test`` is applied to the verdict notation.
    """
    comparator = (row["comparator"] or "").removeprefix(GG)
    if comparator not in ("oneOf", "notOneOf"):
        raise ConfigurationError(f"criterion {ident}: a gg:verdictOf criterion takes gg:oneOf "
                                 f"or gg:notOneOf, not {comparator or 'no comparator'}")
    if row["verdictGuideline"] is None:
        raise ConfigurationError(f"criterion {ident}: a gg:verdictOf criterion needs "
                                 "gg:partOfGuideline (whose verdict it tests)")
    allowed = frozenset(to for link, to in edges if link == "allowed")
    if not allowed:
        raise ConfigurationError(f"criterion {ident}: a gg:verdictOf criterion needs at least "
                                 "one gg:allowedValue verdict")
    action = row["verdictOf"]
    names = ", ".join(sorted(a.removeprefix(GG + "verdict-") for a in allowed))
    symbol = _SYMBOLS[comparator]
    return Criterion(row["cond"], ident, label, section, "", comparator, kind="verdict",
                     text=f"verdict on {action.rstrip('/').rsplit('/', 1)[-1]} {symbol} "
                          f"{{{names}}}",
                     allowed=allowed, verdict_of=action, verdict_guideline=row["verdictGuideline"])


def _check_acyclic(conditions: Mapping[str, Condition]) -> None:
    state: dict[str, int] = {}

    def visit(cond: Condition) -> None:
        if state.get(cond.iri) == 2:
            return
        if state.get(cond.iri) == 1:
            raise ConfigurationError(f"group {cond.id}: contains itself")
        state[cond.iri] = 1
        if isinstance(cond, Group):
            for member in cond.members:
                visit(member)
        state[cond.iri] = 2

    for cond in conditions.values():
        visit(cond)
