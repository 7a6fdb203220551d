"""PROV-O record of a reasoning run: the source of truth for every rendering of a result.

``to_triples`` writes the run (activity, agent, guideline snapshots by content hash, case
facts as entities, one entity per evaluated recommendation with a qualified derivation per
decisive criterion). ``from_triples`` reads such a record back into a :class:`Result`, so
``explain`` and stored runs render from RDF. IRIs are derived from the run IRI, which is a
hash of the inputs: two runs on the same input give isomorphic graphs but for timestamps.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from guidegraph import __version__
from guidegraph.rdf_formats import BY_NAME
from guidegraph.reasoning.decide import conflicts_of, strength_key
from guidegraph.reasoning.result import (
    Applicability,
    Conclusion,
    CriterionOutcome,
    Overridden,
    Pending,
    RecommendationOutcome,
    Result,
    outcome_of,
)
from guidegraph.vocab import CITO, GG, PROV, RDF, RDFS, SKOS, SNAPSHOT_BASE, SOFTWARE_BASE, XSD

if TYPE_CHECKING:
    from guidegraph.reasoning.plan import RecommendationSpec
    from guidegraph.reasoning.reasoner import Reasoner

AGENT = SOFTWARE_BASE + __version__

PREFIXES = {
    "gg": GG, "prov": PROV, "rdfs": RDFS, "skos": SKOS, "cito": CITO, "xsd": XSD,
    "snapshot": SNAPSHOT_BASE,
}


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


_TYPE = _n(RDF + "type")
_VALUE = _n(RDF + "value")
_STRING = _n(XSD + "string")
_BOOL = _n(XSD + "boolean")
_INT = _n(XSD + "integer")
_DATETIME = _n(XSD + "dateTime")
P = {name: _n(GG + name) for name in (
    "ReasoningRun", "GuidelineSnapshot", "CaseFact", "Case", "DerivedRecommendation",
    "UndecidedRecommendation", "RejectedRecommendation", "CriterionEvaluation", "Conflict",
    "contentHash", "snapshotOf", "version", "aboutCase", "factKey", "factProperty",
    "assumedByDefault", "evaluates", "status", "criterion", "usedFact", "missingFactKey",
    "decisive", "viaPath", "evaluationIndex", "warning", "restsOnCitation", "conflictAction",
    "conflictingResult", "action", "direction", "ActionVerdict", "verdict", "decidedUnder",
    "decidedBy", "pendingOn", "strengthText", "SetAside", "setAsideBy", "byRule",
    "usedVerdict", "GuidelineApplicability", "applicabilityOf", "applies",
    "reviewStatusAtRun", "rejectedNotListed", "undecidedNotListed", "derivedCount",
    "undecidedCount", "rejectedCount")}
#: The counts written on each guideline's applicability, in Result.tallies' order.
_TALLIES = ("derivedCount", "undecidedCount", "rejectedCount")
PV = {name: _n(PROV + name) for name in (
    "Activity", "Entity", "SoftwareAgent", "Derivation", "startedAtTime", "endedAtTime",
    "wasAssociatedWith", "used", "wasGeneratedBy", "wasDerivedFrom", "qualifiedDerivation",
    "entity", "hadActivity", "Influence", "qualifiedInfluence", "influencer")}
_NOTATION = _n(SKOS + "notation")
_LABEL = _n(RDFS + "label")
_CITES = _n(CITO + "cites")
_STATUS_CLASS = {"met": "DerivedRecommendation", "unknown": "UndecidedRecommendation",
                 "unmet": "RejectedRecommendation"}


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r",
                          "\t": "\\t", "\b": "\\b", "\f": "\\f"})


def _s(text: str) -> str:
    """An xsd:string literal in N-Triples syntax."""
    return '"' + text.translate(_ESCAPES) + '"'


def _typed(text: str, datatype: str) -> str:
    return '"' + text.translate(_ESCAPES) + '"^^<' + datatype + ">"


_T = "<" + RDF + "type>"
_G = {name: "<" + GG + name + ">" for name in P}
_PR = {name: "<" + PROV + name + ">" for name in PV}
_NOT = "<" + SKOS + "notation>"
_TRUE = _typed("true", XSD + "boolean")


def _describe(add: Callable[[str], None], subject: str, *pairs: tuple[str, str]) -> None:
    """The N-Triples lines of one subject's predicate-object pairs (Turtle's ``;`` list)."""
    for predicate, obj in pairs:
        add(f"{subject} {predicate} {obj} .")


def to_ntriples(result: Result, reasoner: Reasoner, *, stored: bool = False) -> str:
    """The run as PROV-O, in N-Triples.

    ``stored=True`` writes the run graph a store keeps: without what other graphs of the
    store already say (the software agent, the guideline snapshots, the case and its
    current facts), so no triple is stored twice (Oxigraph's union default graph does not
    remove duplicates), and without what ``queries/provenance/expand-run.rq`` derives
    again from the rest of the run graph alone (types PROV-O implies, an outcome's status
    by its class, links that repeat another): under 60 % of the triples, so less writing,
    and nothing read from another graph, so a run reads back as it was saved whatever
    happens to the rest of the store. :func:`guidegraph.provenance.runs.run_record` puts
    the full record back together.

    Written as text rather than term objects: building ~1,000 terms per case would cost
    more than the whole evaluation. IRIs come from the run IRI and from the loaded,
    already-validated graphs; literals are escaped.
    """
    self_contained = not stored
    lines: list[str] = []
    add = lines.append
    g, pv = _G, _PR
    run = f"<{result.provenance}>"
    case = f"<{result.case}>"
    agent = f"<{AGENT}>"
    _describe(add, run, (_T, g["ReasoningRun"]), (_T, pv["Activity"]),
              (pv["startedAtTime"], _typed(result.started, XSD + "dateTime")),
              (pv["endedAtTime"], _typed(result.ended, XSD + "dateTime")),
              (pv["wasAssociatedWith"], agent), (pv["used"], case))
    for count, name in ((result.rejected, "rejectedNotListed"),
                        (result.undecided_unlisted, "undecidedNotListed")):
        if count is not None:  # what --why-not left out, counted
            add(f"{run} {g[name]} {_typed(str(count), XSD + 'integer')} .")
    if self_contained:
        lines.extend(agent_lines())
        add(f"{case} {_T} {g['Case']} .")
        add(f"{case} {_NOT} {_s(result.case_id)} .")
    for gl in result.guidelines:
        snap = f"<{SNAPSHOT_BASE}{gl['content_hash'].split(':', 1)[-1]}>"
        add(f"{run} {pv['used']} {snap} .")
        if self_contained:
            _describe(add, snap, (_T, g["GuidelineSnapshot"]),
                      (g["contentHash"], _s(gl["content_hash"])),
                      (g["snapshotOf"], f"<{gl['iri']}>"), (g["version"], _s(gl["version"])),
                      (_NOT, _s(gl["id"])))
    _fact_lines(add, result, reasoner, case, run, self_contained)
    _conflict_lines(add, result, reasoner, run)
    for gid, counts in result.tallies.items():  # per run, so not in the cached blocks
        node = f"<{applicability_iri(result.provenance, gid)}>"
        for name, count in zip(_TALLIES, counts, strict=True):
            add(f"{node} {g[name]} {_typed(str(count), XSD + 'integer')} .")
    return result.provenance.join(_with_cached_blocks("\n".join(lines) + "\n", result,
                                                      reasoner, full=self_contained))


def _fact_lines(add: Callable[[str], None], result: Result, reasoner: Reasoner, case: str,
                run: str, self_contained: bool) -> None:
    """Each case fact the run used, as an entity of its own with its key and value."""
    g, pv = _G, _PR
    contract = reasoner.contract.facts
    for key, value in result.facts.items():
        spec = contract[key]
        node = f"<{result.provenance}/fact/{key}>"
        term = (f"<{spec.allowed[value]}>" if spec.kind == "concept"
                else _typed(value, XSD + spec.kind))
        if self_contained:
            add(f"{node} {_T} {g['CaseFact']} .")
        _describe(add, node, (g["aboutCase"], case),
                  (g["factKey"], _s(key)), (g["factProperty"], f"<{spec.iri}>"),
                  (f"<{RDF}value>", term))
        if self_contained:
            add(f"{case} <{spec.iri}> {term} .")
        if key in result.defaulted:
            add(f"{node} {g['assumedByDefault']} {_TRUE} .")
        add(f"{run} {pv['used']} {node} .")


def _conflict_lines(add: Callable[[str], None], result: Result, reasoner: Reasoner,
                    run: str) -> None:
    g, pv = _G, _PR
    specs = reasoner.spec_by_iri
    for conflict in result.conflicts:
        node = f"<{result.provenance}/conflict/{conflict['action']}>"
        add(f"{node} {_T} {g['Conflict']} .")
        add(f"{node} {pv['wasGeneratedBy']} {run} .")
        add(f"{node} {g['conflictAction']} <{reasoner.action_iri[conflict['action']]}> .")
        sides = {*conflict["for"], *conflict["against"]}
        for rec in result.recommendations:
            if rec.action == conflict["action"] and rec.id in sides:
                add(f"{node} {g['conflictingResult']} "
                    f"{_entity(rec, specs[rec.iri]).replace(_RUN, result.provenance)} .")


def _with_cached_blocks(head: str, result: Result, reasoner: Reasoner, *,
                        full: bool) -> list[str]:
    """The run's text in pieces to join with the run IRI: ``head``, then the outcome,
    verdict and applicability blocks, each cached on its object split at the run IRI
    (the full and the stored form cached apart: ``prov_parts`` is keyed by ``full``)."""
    g, specs = _G, reasoner.spec_by_iri
    pieces: list[str] = [head]

    def join(parts: list[str]) -> None:
        pieces[-1] += parts[0]
        pieces.extend(parts[1:])

    for rec in result.all_outcomes():
        if full not in rec.prov_parts:
            rec.prov_parts[full] = _outcome_block(rec, specs[rec.iri],
                                                  reasoner.verdict_action, full).split(_RUN)
        join(rec.prov_parts[full])
        for warning in result.conflict_warnings(rec) if rec.status == "met" else ():
            if warning.startswith("conflict:"):
                join(f"{_entity(rec, specs[rec.iri])} {g['warning']} {_s(warning)} .\n"
                     .split(_RUN))
    for conclusion in result.conclusions:
        if full not in conclusion.prov_parts:
            conclusion.prov_parts[full] = _conclusion_block(conclusion, full).split(_RUN)
        join(conclusion.prov_parts[full])
    iris = {gl["id"]: gl["iri"] for gl in result.guidelines}
    for gid, app in result.applicability.items():
        if full not in app.prov_parts:
            app.prov_parts[full] = _applicability_block(
                app, iris[gid], reasoner.review_status_iri.get(gid, ""), full).split(_RUN)
        join(app.prov_parts[full])
    return pieces


def verdict_iri(run: str, guideline: str, action: str) -> str:
    """The IRI of a run's verdict on one action of one guideline."""
    return f"{run}/verdict/{guideline}/{action}"


def _conclusion_block(c: Conclusion, full: bool) -> str:
    """PROV-O lines of one verdict, with the run IRI left as a placeholder.

    The verdict is derived from the prevailing outcomes (prov:wasDerivedFrom, gg:decidedBy);
    each applicable outcome a rule set aside is a qualified influence naming the outcome
    that prevailed and the rule. Without ``full``, the stored form (see to_ntriples).
    """
    g, pv = _G, _PR
    node = f"<{verdict_iri(_RUN, c.guideline, c.action)}>"
    def ent(rec_id: str) -> str:
        return f"<{_RUN}/rec/{c.guideline}/{rec_id}>"

    out = [f"{node} {_T} {g['ActionVerdict']} .",
           f"{node} {pv['wasGeneratedBy']} <{_RUN}> .",
           f"{node} {g['action']} <{c.action_iri}> .",
           f"{node} {g['decidedUnder']} <{c.guideline_iri}> .",
           f"{node} {g['verdict']} <{GG}verdict-{c.direction}> ."]
    add = out.append
    if full:
        add(f"{node} {_T} {pv['Entity']} .")
    if c.strength:
        add(f"{node} {g['strengthText']} {_s(c.strength)} .")
    for rec_id in c.decided_by:
        if full:
            add(f"{node} {pv['wasDerivedFrom']} {ent(rec_id)} .")
        add(f"{node} {g['decidedBy']} {ent(rec_id)} .")
    for index, (loser, winner, rule) in enumerate(c.set_aside):
        inf = f"<{verdict_iri(_RUN, c.guideline, c.action)}/set-aside/{index}>"
        add(f"{node} {pv['qualifiedInfluence']} {inf} .")
        add(f"{inf} {_T} {g['SetAside']} .")
        if full:
            add(f"{inf} {_T} {pv['Influence']} .")
        add(f"{inf} {pv['influencer']} {ent(loser)} .")
        add(f"{inf} {g['setAsideBy']} {ent(winner)} .")
        add(f"{inf} {g['byRule']} <{rule}> .")
    for p in c.pending:
        add(f"{node} {g['pendingOn']} {ent(p.id)} .")
    for key in c.missing_facts:
        add(f"{node} {g['missingFactKey']} {_s(key)} .")
    for warning in c.warnings:
        add(f"{node} {g['warning']} {_s(warning)} .")
    return "\n".join(out) + "\n"


def agent_lines() -> list[str]:
    """The software agent's description (stored once per version, not once per run)."""
    agent = f"<{AGENT}>"
    return [f"{agent} {_T} {_PR['SoftwareAgent']} .",
            f"{agent} <{RDFS}label> {_s('guidegraph ' + __version__)} ."]


_RUN = "\x00run\x00"  # placeholder for the run IRI in cached outcome blocks


def _entity(rec: RecommendationOutcome, spec: RecommendationSpec) -> str:
    return f"<{_RUN}/rec/{spec.guideline}/{rec.id}>"


def _outcome_block(rec: RecommendationOutcome, spec: RecommendationSpec,
                   verdict_of: dict[str, str], full: bool) -> str:
    """PROV-O lines of one outcome, with the run IRI left as a placeholder.

    An outcome depends only on the facts it read, so its block can be cached with it and
    reused for every case with the same facts; conflict warnings are added per run.
    Without ``full``, the stored form (see to_ntriples).
    """
    g, pv = _G, _PR
    run = f"<{_RUN}>"
    ent = _entity(rec, spec)
    rec_node = f"<{rec.iri}>"
    out = [
        f"{ent} {_T} {g[_STATUS_CLASS[rec.status]]} .",
        f"{ent} {g['evaluates']} {rec_node} .",
        f"{ent} {_NOT} {_s(rec.id)} .",
        f"{ent} {g['action']} <{spec.action_iri}> .",
        f"{ent} {g['direction']} <{GG}{rec.direction}> .",
        f"{ent} {pv['wasGeneratedBy']} {run} .",
    ]
    if full:
        out += [
            f"{ent} {_T} {pv['Entity']} .",
            f"{ent} {g['status']} <{GG}{rec.status}> .",
            f"{ent} {pv['wasDerivedFrom']} {rec_node} .",
        ]
    add = out.append
    for warning in rec.warnings:
        if not warning.startswith("conflict:"):
            add(f"{ent} {g['warning']} {_s(warning)} .")
    if rec.status == "met":
        for cit in spec.rests_on:
            add(f"{ent} {g['restsOnCitation']} <{cit}> .")
    for key in rec.missing:
        add(f"{ent} {g['missingFactKey']} {_s(key)} .")
    _evaluation_lines(out, ent, rec_node, rec.criteria, full and rec.status == "met",
                      {c: verdict_iri(_RUN, spec.guideline, a) for c, a in verdict_of.items()},
                      full)
    return "\n".join(out) + "\n"


def _evaluation_lines(out: list[str], ent: str, about: str, criteria: list[CriterionOutcome],
                      derived: bool, verdicts: dict[str, str], full: bool) -> None:
    """Qualified derivations of ``ent``: one per criterion evaluation, naming the criterion,
    its status, the facts it read or missed, and a verdict it read (``verdicts``: criterion
    IRI -> verdict IRI); with ``derived``, ``ent`` is also derived from the facts read.
    Without ``full``, the stored form: no types, entity or activity of the evaluations."""
    g, pv = _G, _PR
    add = out.append
    run = f"<{_RUN}>"
    ent_iri = ent[1:-1]
    for index, crit in enumerate(criteria):
        ev = f"<{ent_iri}/eval/{index}>"
        add(f"{ent} {pv['qualifiedDerivation']} {ev} .")
        if full:
            _describe(add, ev, (_T, g["CriterionEvaluation"]), (_T, pv["Derivation"]),
                      (pv["entity"], about), (pv["hadActivity"], run))
        _describe(add, ev, (g["criterion"], f"<{crit.iri}>"),
                  (g["status"], f"<{GG}{crit.status}>"),
                  (g["evaluationIndex"], _typed(str(index), XSD + "integer")))
        if crit.via:
            add(f"{ev} {g['viaPath']} {_s(' > '.join(crit.via))} .")
        for key in crit.missing:
            add(f"{ev} {g['missingFactKey']} {_s(key)} .")
        used = verdicts.get(crit.iri)
        if used is not None:
            add(f"{ev} {g['usedVerdict']} <{used}> .")
        for key in crit.fact_keys:
            node = f"<{_RUN}/fact/{key}>"
            add(f"{ev} {g['usedFact']} {node} .")
            if derived:
                add(f"{ent} {pv['wasDerivedFrom']} {node} .")


def applicability_iri(run: str, guideline: str) -> str:
    """The IRI of a run's record of whether one guideline applies to the case."""
    return f"{run}/applicability/{guideline}"


def _applicability_block(app: Applicability, guideline_iri: str, review_iri: str,
                         full: bool) -> str:
    """PROV-O lines of whether a guideline applies, run IRI left as a placeholder: the
    population criteria that decided it, as qualified derivations like an outcome's.
    Without ``full``, the stored form (see to_ntriples)."""
    g, pv = _G, _PR
    node = f"<{applicability_iri(_RUN, app.guideline)}>"
    out = [f"{node} {_T} {g['GuidelineApplicability']} .",
           *([f"{node} {_T} {pv['Entity']} ."] if full else []),
           f"{node} {pv['wasGeneratedBy']} <{_RUN}> .",
           f"{node} {g['applicabilityOf']} <{guideline_iri}> .",
           f"{node} {g['applies']} <{GG}applies-{app.applies}> ."]
    if review_iri:
        out.append(f"{node} {g['reviewStatusAtRun']} <{review_iri}> .")
    for key in app.missing:
        out.append(f"{node} {g['missingFactKey']} {_s(key)} .")
    _evaluation_lines(out, node, f"<{guideline_iri}>", app.criteria,
                      full and app.applies == "yes", {}, full)
    return "\n".join(out) + "\n"


def to_triples(result: Result, reasoner: Reasoner) -> list[ox.Triple]:
    """The run as PROV-O triples (parsed from :func:`to_ntriples`)."""
    data = to_ntriples(result, reasoner).encode("utf-8")
    return [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]


def serialize(triples: list[ox.Triple], fmt: str) -> str:
    """Turtle, N-Triples or JSON-LD text of a run."""
    kwargs: dict[str, Any] = {}
    if fmt == "turtle":
        kwargs["prefixes"] = PREFIXES
    data = ox.serialize(triples, format=BY_NAME[fmt].ox, **kwargs)
    return data.decode("utf-8")


def serialize_ntriples(nt: str, fmt: str) -> str:
    """Re-serialize N-Triples text as Turtle (with prefixes), N-Triples or JSON-LD."""
    if fmt == "ntriples":
        return nt
    triples = [q.triple for q in ox.parse(nt.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)]
    return serialize(triples, fmt)


def _count(by_s: dict[str, dict[str, list[Any]]], run: str, name: str) -> int | None:
    values = by_s[run].get(GG + name, [])
    return int(values[0].value) if values else None


def from_triples(triples: list[ox.Triple] | list[ox.Quad], reasoner: Reasoner,
                 run_iri: str | None = None, *, known_only: bool = False) -> Result:
    """Read a run back into a Result (static text and grades come from the loaded guideline)."""
    by_s: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for t in triples:
        by_s[t.subject.value][t.predicate.value].append(t.object)
    runs = [s for s, p in by_s.items() if P["ReasoningRun"] in p.get(RDF + "type", [])]
    if run_iri is not None:
        runs = [r for r in runs if r == run_iri]
    if len(runs) != 1:
        raise ValueError(f"expected one reasoning run in the graph, found {len(runs)}")
    run = runs[0]
    one = functools.partial(_one, by_s)
    case_iri, guidelines, facts, defaulted = _read_used(by_s, run, reasoner)
    fact_key = {f"{run}/fact/{k}": k for k in facts}
    derived, others = _read_outcomes(by_s, reasoner, fact_key, known_only)
    order = {k: i for i, k in enumerate(reasoner.contract.keys())}
    conclusions = _read_conclusions(by_s, run, reasoner, known_only)
    conflicts = conflicts_of(conclusions, reasoner.decisions.direction)
    applicability = _read_applicability(by_s, run, reasoner, fact_key, known_only)
    missing_all = sorted({m for r in others if r.status == "unknown" for m in r.missing}
                         | {m for c in conclusions for m in c.missing_facts}
                         | {m for a in applicability.values() for m in a.missing},
                         key=lambda k: order.get(k, len(order)))
    return Result(
        case=case_iri, case_id=one(case_iri, SKOS + "notation").value, guidelines=guidelines,
        recommendations=derived, not_applicable=others, missing_facts=missing_all,
        conflicts=conflicts, provenance=run,
        facts={k: facts[k] for k in sorted(facts, key=lambda k: order.get(k, 0))},
        defaulted=sorted(defaulted), started=one(run, PROV + "startedAtTime").value,
        ended=one(run, PROV + "endedAtTime").value, conclusions=conclusions,
        rejected=_count(by_s, run, "rejectedNotListed"),
        undecided_unlisted=_count(by_s, run, "undecidedNotListed"),
        applicability=applicability,
        disclaimers={g: t for g, t in reasoner.disclaimers.items() if g in applicability},
        tallies=_read_tallies(by_s, run, applicability))


def _read_tallies(by_s: dict[str, dict[str, list[Any]]], run: str,
                  applicability: dict[str, Applicability]) -> dict[str, tuple[int, int, int]]:
    """The run's counts per guideline (none for a run stored before they were written)."""
    out = {}
    for gid in applicability:
        counts = [_count(by_s, applicability_iri(run, gid), name) for name in _TALLIES]
        if None not in counts:
            out[gid] = (counts[0], counts[1], counts[2])
    return out


def _one(by_s: dict[str, dict[str, list[Any]]], subject: str, pred: str) -> Any:
    values = by_s[subject].get(pred, [])
    return values[0] if values else None


def _read_used(by_s: dict[str, dict[str, list[Any]]], run: str, reasoner: Reasoner
               ) -> tuple[str, list[dict[str, str]], dict[str, str], list[str]]:
    """What the run used: the case, the guideline versions (by id), the facts and which of
    them were defaults."""
    one = functools.partial(_one, by_s)
    used = [o.value for o in by_s[run][PROV + "used"]]
    case_iri = next(u for u in used if P["Case"] in by_s[u].get(RDF + "type", []))
    guidelines = []
    facts: dict[str, str] = {}
    defaulted: list[str] = []
    contract = reasoner.contract.facts
    for u in used:
        types = by_s[u].get(RDF + "type", [])
        if P["GuidelineSnapshot"] in types:
            guidelines.append({
                "id": one(u, SKOS + "notation").value, "version": one(u, GG + "version").value,
                "iri": one(u, GG + "snapshotOf").value,
                "content_hash": one(u, GG + "contentHash").value})
        elif P["CaseFact"] in types:
            key = one(u, GG + "factKey").value
            spec = contract[key]
            term = one(u, RDF + "value")
            facts[key] = spec.notations[term.value] if spec.kind == "concept" else term.value
            if one(u, GG + "assumedByDefault") is not None:
                defaulted.append(key)
    guidelines.sort(key=lambda g: g["id"])
    return case_iri, guidelines, facts, defaulted


def _read_outcomes(by_s: dict[str, dict[str, list[Any]]], reasoner: Reasoner,
                   fact_key: dict[str, str], known_only: bool
                   ) -> tuple[list[RecommendationOutcome], list[RecommendationOutcome]]:
    """The recommendations that applied, and the others, each in (id, IRI) order."""
    specs = reasoner.spec_by_iri
    crit_by_iri = reasoner.plan.conditions
    derived: list[RecommendationOutcome] = []
    others: list[RecommendationOutcome] = []
    for p in by_s.values():
        if PV["Entity"] not in p.get(RDF + "type", []) or GG + "evaluates" not in p:
            continue
        rec_iri = p[GG + "evaluates"][0].value
        if known_only and rec_iri not in specs:
            continue  # a recommendation of a guideline this reasoner does not hold
        status = p[GG + "status"][0].value.removeprefix(GG)
        criteria = _read_evaluations(by_s, p, crit_by_iri, fact_key)
        outcome = outcome_of(
            specs[rec_iri], status, criteria,
            sorted(o.value for o in p.get(GG + "missingFactKey", [])),
            warnings=sorted(o.value for o in p.get(GG + "warning", [])
                            if not o.value.startswith("conflict:")))
        (derived if status == "met" else others).append(outcome)
    derived.sort(key=lambda r: (r.id, r.iri))
    others.sort(key=lambda r: (r.id, r.iri))
    return derived, others


def _read_evaluations(by_s: dict[str, dict[str, list[Any]]], props: dict[str, list[Any]],
                      crit_by_iri: dict[str, Any], fact_key: dict[str, str]
                      ) -> list[CriterionOutcome]:
    """The criterion evaluations (qualified derivations) of one recorded entity, in order:
    the reading side of :func:`_evaluation_lines` (``fact_key``: fact node IRI -> key; a
    fact the run does not record is a KeyError, as for any unreadable run)."""
    out = []
    for ev in sorted((o.value for o in props.get(PROV + "qualifiedDerivation", [])),
                     key=lambda e: int(by_s[e][GG + "evaluationIndex"][0].value)):
        e = by_s[ev]
        crit = crit_by_iri[e[GG + "criterion"][0].value]
        via = e.get(GG + "viaPath")
        out.append(CriterionOutcome(
            criterion=crit.id, label=crit.label,
            status=e[GG + "status"][0].value.removeprefix(GG), iri=crit.iri,
            fact_keys=[fact_key[o.value] for o in e.get(GG + "usedFact", [])],
            missing=sorted(o.value for o in e.get(GG + "missingFactKey", [])),
            via=via[0].value.split(" > ") if via else [], section=crit.section))
    return out


def _read_applicability(by_s: dict[str, dict[str, list[Any]]], run: str, reasoner: Reasoner,
                        fact_key: dict[str, str], known_only: bool = False
                        ) -> dict[str, Applicability]:
    """Whether each guideline applied, as the run recorded it (criteria from the loaded
    guideline; with ``known_only``, guidelines the reasoner does not hold are skipped)."""
    crit_by_iri = reasoner.plan.conditions
    out: dict[str, Applicability] = {}
    prefix = run + "/applicability/"
    for subject, p in by_s.items():
        if not subject.startswith(prefix) or P["GuidelineApplicability"] not in p.get(
                RDF + "type", []):
            continue
        gid = subject[len(prefix):]
        if known_only and gid not in reasoner.populations:
            continue
        criteria = _read_evaluations(by_s, p, crit_by_iri, fact_key)
        review = p.get(GG + "reviewStatusAtRun")
        out[gid] = Applicability(
            gid, p[GG + "applies"][0].value.removeprefix(GG + "applies-"),
            declared=bool(reasoner.populations.get(gid)), criteria=criteria,
            missing=sorted(o.value for o in p.get(GG + "missingFactKey", [])),
            review_status=review[0].value.rsplit("#", 1)[-1] if review else "")
    return dict(sorted(out.items()))


def _read_conclusions(by_s: dict[str, dict[str, list[Any]]], run: str, reasoner: Reasoner,
                      known_only: bool = False) -> list[Conclusion]:
    """The run's verdicts, in the order the reasoner gives them (dependency stages);
    with ``known_only``, those of guidelines or actions the reasoner does not hold are
    skipped."""
    def rec_id(iri: str) -> str:
        return iri.rsplit("/", 1)[-1]

    def first(subject: str, pred: str) -> Any:
        values = by_s[subject].get(pred, [])
        return values[0].value if values else None

    order = {g.key: i for i, g in enumerate(
        g for stage in reasoner.decisions.stages for g in stage)}
    notation = reasoner.decisions.rule_notation
    specs = {(s.guideline, s.id): s for s in reasoner.recommendations}
    direction = {k: s.direction for k, s in specs.items()}
    key_order = {k: i for i, k in enumerate(reasoner.contract.keys())}
    out: list[tuple[int, Conclusion]] = []
    for subject, p in by_s.items():
        if P["ActionVerdict"] not in p.get(RDF + "type", []):
            continue
        if first(subject, PROV + "wasGeneratedBy") != run:
            continue
        action_iri = first(subject, GG + "action")
        guideline_iri = first(subject, GG + "decidedUnder")
        if known_only and (guideline_iri, action_iri) not in order:
            continue
        guideline = subject.rsplit("/verdict/", 1)[1].split("/", 1)[0]
        decided = sorted((specs[(guideline, rec_id(o.value))] for o in p.get(GG + "decidedBy", [])),
                         key=strength_key)
        set_aside = []
        for inf in sorted((o.value for o in p.get(PROV + "qualifiedInfluence", [])),
                          key=lambda e: int(e.rsplit("/", 1)[1])):
            set_aside.append((rec_id(first(inf, PROV + "influencer")),
                              rec_id(first(inf, GG + "setAsideBy")), first(inf, GG + "byRule")))
        grouped: dict[tuple[str, str], list[str]] = {}
        for loser, winner, rule in set_aside:
            grouped.setdefault((loser, rule), []).append(winner)
        overridden = [Overridden(loser, direction[(guideline, loser)], sorted(winners),
                                 notation.get(rule, rule), rule)
                      for (loser, rule), winners in sorted(grouped.items())]
        pending_ids = sorted(rec_id(o.value) for o in p.get(GG + "pendingOn", []))
        pending = []
        for pid in pending_ids:
            entity = f"{run}/rec/{guideline}/{pid}"
            pending.append(Pending(pid, sorted(
                o.value for o in by_s.get(entity, {}).get(GG + "missingFactKey", []))))
        conclusion = Conclusion(
            action=reasoner.action_notation[action_iri], action_iri=action_iri,
            guideline=guideline, guideline_iri=guideline_iri,
            direction=first(subject, GG + "verdict").removeprefix(GG + "verdict-"),
            decided_by=[s.id for s in decided], strength=first(subject, GG + "strengthText"),
            overridden=overridden, pending=pending,
            missing_facts=sorted((o.value for o in p.get(GG + "missingFactKey", [])),
                                 key=lambda k: (key_order.get(k, len(key_order)), k)),
            warnings=sorted(o.value for o in p.get(GG + "warning", [])), set_aside=set_aside)
        out.append((order.get((guideline_iri, action_iri), len(order)), conclusion))
    return [c for _, c in sorted(out, key=lambda t: (t[0], t[1].guideline, t[1].action))]
