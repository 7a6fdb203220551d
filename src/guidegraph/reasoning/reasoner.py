"""The reasoner: case facts in, applicable recommendations out, with provenance.

Two engines share one plan of recommendations and condition trees: ``compiled`` (the
default) evaluates criteria as Python closures built from the guideline data; ``sparql``
evaluates every criterion with queries/derive/criterion-status.rq on Oxigraph. Group logic,
result building and provenance are shared, so the engines differ only in leaf evaluation,
and tests hold them to agree.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from guidegraph import __version__
from guidegraph.clock import timestamp
from guidegraph.errors import ConfigurationError
from guidegraph.gcpause import collector_paused
from guidegraph.intake.cases import Case, Intake
from guidegraph.intake.contract import CaseContract, load_contract
from guidegraph.knowledge.loading import DeferredKnowledge, GuidelineInfo, Knowledge
from guidegraph.knowledge.rows import text
from guidegraph.reasoning import plan_cache
from guidegraph.reasoning.criteria import (
    compile_plan,
    decisive_leaves,
    evaluate,
    leaves,
)
from guidegraph.reasoning.decide import (
    VERDICT_IRI,
    VERDICT_NAME,
    ActionGroup,
    DecisionPlan,
    conflicts_of,
)
from guidegraph.reasoning.plan import (
    MET,
    STATUS_ORDER,
    UNKNOWN,
    UNMET,
    Condition,
    Criterion,
    Plan,
    RecommendationSpec,
)
from guidegraph.reasoning.result import (
    WHY_NOT,
    Applicability,
    Conclusion,
    CriterionOutcome,
    RecommendationOutcome,
    Result,
    outcome_of,
)
from guidegraph.store.versions import KnowledgeSource, current_knowledge
from guidegraph.vocab import GG, RDF_TYPE, RUN_BASE, XSD_INTEGER

if TYPE_CHECKING:
    from guidegraph.reasoning.vector import VectorDecisions, VectorPlan

_CACHE_LIMIT = 200_000
#: From this many recommendations on, the compiled engine evaluates with numpy arrays.
VECTOR_MIN_RECOMMENDATIONS = 300


#: The named queries a compile reads, (folder, name) in the order it reads them: begun
#: together, the engine evaluates the later ones while the earlier ones' rows are compiled.
COMPILE_QUERIES = (("derive", "concept-ranks"), ("derive", "condition-links"),
                   ("derive", "conditions"), ("derive", "citation-dependencies"),
                   ("derive", "recommendations"), ("decide", "support"),
                   ("decide", "not-awaited"), ("decide", "precedence"))


class Reasoner:
    """Loaded knowledge plus compiled plan; reuse one instance for many cases."""

    def __init__(self, knowledge: Knowledge | None = None, *, engine: str = "compiled",
                 why_not: str = "all", source: KnowledgeSource | None = None) -> None:
        """``engine``: compiled (closures; numpy arrays for large guidelines), vector (always
        arrays) or sparql (the reference). ``why_not`` (one of WHY_NOT): "all" lists every
        recommendation that does not apply with its deciding criteria; "undecided" lists only
        the undecided ones and counts the rejected; "none" lists only the undecided ones an
        undecided verdict waits on and counts the rest, for registry-scale batches over large
        guidelines. Verdicts are complete in every mode (an undecided one names its pending
        statements and the facts they wait for); explain of the case still answers why-not
        for any recommendation.

        The knowledge is ``knowledge`` (compiled here), else ``source``, else the shipped
        files: from a source the compiled plan is read from the plan cache when the same
        knowledge was compiled by the same code before (reasoning.plan_cache), and the
        knowledge's graphs are then read only when something asks for them."""
        if engine not in ("compiled", "vector", "sparql"):
            raise ConfigurationError(
                f"engine {engine!r} is not known; allowed: compiled, vector, sparql")
        if why_not not in WHY_NOT:
            raise ConfigurationError(
                f"why_not {why_not!r} is not known; allowed: {', '.join(WHY_NOT)}")
        self.why_not = why_not
        self.engine = engine
        compiled: Compiled | None = None
        key = None
        if knowledge is None:
            source = source or current_knowledge(None)
            if engine != "sparql" and plan_cache.cache_dir() is not None:
                # (the reference engine reads the graphs anyway)
                key = plan_cache.plan_key(("stored" if source.stored else "files",
                                           *source.key, *source.places, self._plan_kind()))
                found = plan_cache.read(key)
                if isinstance(found, Compiled) and sorted(found.parts) == sorted(source.key):
                    compiled = found
            if compiled is not None:
                knowledge = DeferredKnowledge(compiled.guidelines, source.build, source.key)
        if compiled is None:
            with collector_paused():  # (see gcpause: ~10^6 objects that live on)
                if knowledge is None and source is not None:
                    knowledge = source.build()
                self.knowledge = knowledge
                compiled = self._compile()
                # kept only under the key of what was compiled: files that changed between
                # naming the knowledge and parsing it make no entry
                if key is not None and source is not None and sorted(
                        compiled.parts) == sorted(source.key):
                    plan_cache.write(key, compiled)
        else:
            self.knowledge = knowledge
        self._adopt(compiled)

    def _plan_kind(self) -> str:
        """What the cached plan holds besides the plan: arrays always, or when large."""
        return "vector" if self.engine == "vector" else "compiled"

    def _compile(self) -> Compiled:
        """Everything the reasoner derives from its knowledge's graphs."""
        self.knowledge.prefetch(*COMPILE_QUERIES)
        try:
            contract = load_contract(self.knowledge.store)
            plan = compile_plan(self.knowledge, contract)
            specs = self._compile_recommendations(plan)
            _index_specs(specs)
            decisions = DecisionPlan(self.knowledge, plan, specs)
        finally:  # every prefetched query has been read unless the compile failed
            self.knowledge.drop_prefetched()
        vector = vector_decisions = None
        if self.engine == "vector" or (self.engine == "compiled" and len(specs)
                                       >= VECTOR_MIN_RECOMMENDATIONS):
            from guidegraph.reasoning.vector import VectorDecisions, VectorPlan

            vector = VectorPlan(plan, specs, contract)
            vector_decisions = VectorDecisions(decisions, specs)
        return Compiled(tuple(p.content_hash for p in self.knowledge.parts),
                        list(self.knowledge.guidelines), contract, plan, specs, decisions,
                        vector, vector_decisions)

    def _adopt(self, compiled: Compiled) -> None:
        self.contract: CaseContract = compiled.contract
        self.intake = Intake(self.contract)
        self.plan: Plan = compiled.plan
        self.recommendations = compiled.recommendations
        self.guidelines = [
            {"id": g.id, "version": g.version, "iri": g.iri, "content_hash": g.content_hash}
            for g in sorted(self.knowledge.guidelines, key=lambda g: g.id)
        ]  # by id, as a stored run is read back
        self._fingerprint = "|".join([__version__, *(g.content_hash for g in
                                                      self.knowledge.guidelines)])
        self._status_query: str | None = None
        self._index_recommendations()
        self.decisions = compiled.decisions
        self._index_guidelines()
        self._stage_order = {g.key: i for i, g in enumerate(
            g for stage in self.decisions.stages for g in stage)}
        self._applicability_cache: dict[tuple, Applicability] = {}
        self._conclusion_cache: dict[tuple, tuple[Conclusion | None, tuple]] = {}
        self._decide_queries: dict[str, str] = {}
        self._decide_base: list[ox.Quad] | None = None
        self._scratch: ox.Store | None = None
        self._outcome_cache: dict[tuple, RecommendationOutcome] = {}
        self._key_order = {k: i for i, k in enumerate(self.contract.keys())}
        self._vector = compiled.vector
        if compiled.vector_decisions is not None:
            self._vector_decisions = compiled.vector_decisions

    def _index_recommendations(self) -> None:
        """Lookups by IRI and notation."""
        self.spec_by_iri = {s.iri: s for s in self.recommendations}
        self.action_iri = {s.action: s.action_iri for s in self.recommendations}
        self.action_notation = {s.action_iri: s.action for s in self.recommendations}
        #: dependent-action criterion IRI -> notation of the action whose verdict it reads
        self.verdict_action = {c.iri: self.action_notation.get(c.verdict_of or "", "")
                               for c in self.plan.verdict_criteria}

    def _index_guidelines(self) -> None:
        """Each guideline's population conditions, review status and disclaimer."""
        #: guideline id -> its population conditions (gg:population); none: every case
        self.populations: dict[str, list[Condition]] = {
            g.id: sorted((self.plan.conditions[t] for t in self.plan.links.get(g.iri, ())),
                         key=lambda c: c.id) for g in self.knowledge.guidelines}
        self._population_leaves = {g: sorted({c.iri: c for cond in conds for c in leaves(cond)
                                              }.values(), key=lambda c: c.iri)
                                   for g, conds in self.populations.items()}
        self.review_status_iri = {g.id: g.review_status for g in self.knowledge.guidelines}
        self._review = {g: iri.rsplit("#", 1)[-1] for g, iri in self.review_status_iri.items()}
        self.disclaimers = {g.id: g.disclaimer for g in self.knowledge.guidelines
                            if g.disclaimer}

    # -- compilation ------------------------------------------------------------------
    def _citations(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Each recommendation's citations (by IRI): number, status, title, whether cited
        directly and through which evidence."""
        citations: dict[str, dict[str, dict[str, Any]]] = {}
        for row in self.knowledge.rows("citation-dependencies"):
            per_rec = citations.setdefault(text(row["rec"]), {})
            entry = per_rec.setdefault(text(row["citation"]), {
                "number": int(text(row["number"])), "status": text(row["status"]),
                "title": text(row["title"]) if row["title"] else "", "direct": False,
                "via": []})
            if row["via"] is None:
                entry["direct"] = True
            else:
                entry["via"].append(text(row["viaId"]) if row["viaId"] else text(row["via"]))
        return citations

    def _compile_recommendations(self, plan: Plan) -> list[RecommendationSpec]:
        citations = self._citations()
        ids = {g.iri: g.id for g in self.knowledge.guidelines}  # as the loader names them
        specs = []
        for row in self.knowledge.rows("recommendations"):
            iri = text(row["rec"])
            ident = text(row["id"])
            tops = plan.links.get(iri)
            if not tops:
                raise ConfigurationError(f"recommendation {ident}: has no criteria")
            sources, warnings, rests_on, cautions = _citation_notes(citations.get(iri, {}))
            votes = None
            if row["votesFor"] is not None and row["votesCast"] is not None:
                votes = f"{text(row['votesFor'])}/{text(row['votesCast'])}"
            specs.append(RecommendationSpec(
                iri=iri, id=ident,
                label=text(row["label"]) if row["label"] else ident,
                text=text(row["statement"]) if row["statement"] else "",
                section=text(row["section"]) if row["section"] else "",
                guideline=(ids.get(text(row["guideline"])) or text(row["guidelineId"]) or "")
                if row["guideline"] else "",
                action=text(row["actionId"]), action_iri=text(row["action"]),
                direction=text(row["directionId"]), strength=text(row["strengthId"]),
                evidence=text(row["evidenceId"]) if row["evidenceId"] else None,
                grading=text(row["grading"]),
                origin=text(row["originLabel"]) if row["originLabel"] else None,
                votes=votes,
                strength_rank=int(text(row["strengthRank"])) if row["strengthRank"] else None,
                conditions=sorted((plan.conditions[t] for t in tops), key=lambda c: c.id),
                sources=sources, warnings=warnings, rests_on=rests_on, cautions=cautions,
            ))
        specs.sort(key=lambda s: (s.id, s.iri))
        return specs

    # -- evaluation -------------------------------------------------------------------
    def leaf_statuses(self, case: Case) -> dict[str, str]:
        """Status of every criterion for the case, by criterion IRI, from the chosen engine."""
        if self.engine == "sparql":
            return self.sparql_leaf_statuses(case)
        if self._vector is not None:

            status, _recs = self._vector.evaluate(case.facts)
            return {c.iri: STATUS_ORDER[status[i]] for i, c in enumerate(self._vector.criteria)}
        facts = case.facts
        return {c.iri: c.evaluate(facts) for c in self.plan.criteria}

    def sparql_leaf_statuses(self, case: Case) -> dict[str, str]:
        """Reference semantics: criterion-status.rq over knowledge + the case's triples."""
        store = self.knowledge.store
        graph = ox.NamedNode(RUN_BASE + "scratch/" + hashlib.sha256(
            case.iri.encode()).hexdigest())
        quads = [ox.Quad(t.subject, t.predicate, t.object, graph)
                 for t in self.intake.triples(case)]
        store.extend(quads)
        try:
            rows = self.knowledge.store.query(
                self._status_text(), substitutions={ox.Variable("case"): ox.NamedNode(case.iri)},
                use_default_graph_as_union=True)
            out = {row["criterion"].value: row["status"].value.removeprefix(GG) for row in rows}
        finally:
            for quad in quads:
                store.remove(quad)
        return out

    def _status_text(self) -> str:
        if self._status_query is None:
            from guidegraph import resources
            self._status_query = resources.resource(
                "queries", "derive", "criterion-status.rq").read_text(encoding="utf-8")
        return self._status_query

    def reason(self, case: Case) -> Result:
        """Evaluate every recommendation for the case, decide every action, build the result.

        Actions are decided in dependency order (parents first), so a dependent-action
        criterion reads a verdict already reached. With the compiled engine, a
        recommendation's outcome is cached by the statuses of its criteria (and, for a
        dependent-action criterion, the facts its verdict waits for): nothing else shapes it
        (a fact is absent exactly when its criterion is unknown, and fact values are rendered
        from the case at output time), so after warm-up every outcome is a lookup; a verdict
        is cached by the outcomes of its action's recommendations in the same way. Cached
        objects are shared and never mutated.
        """
        started = timestamp()
        if self._vector is not None and not self.decisions.has_dependencies:
            derived, others, rejected, conclusions, applies = self._reason_vector(case)
            return self._result(case, derived, others, rejected, started, conclusions, applies)
        outcomes, conclusions, applies = self._staged(case)
        derived: list[RecommendationOutcome] = []
        others: list[RecommendationOutcome] = []
        rejected: dict[str, int] = {}
        for spec in self.recommendations:
            outcome = outcomes.get(spec.iri)
            if outcome is None:  # its guideline's population does not include the case
                continue
            if outcome.status == MET:
                derived.append(outcome)
            elif outcome.status == UNMET and self.why_not != "all":
                rejected[spec.guideline] = rejected.get(spec.guideline, 0) + 1
            else:
                others.append(outcome)
        return self._result(case, derived, others, rejected, started, conclusions, applies)

    def applicability(self, case: Case, leaf: dict[str, str] | None = None
                      ) -> dict[str, Applicability]:
        """Whether each guideline's population includes the case, from the statuses of its
        population criteria (``leaf``: statuses by criterion IRI, as the engine found them;
        absent, the compiled criteria are evaluated). Kleene all-of over the conditions,
        like a recommendation's criteria: unmet -> "no", unknown -> "undecided"."""
        out: dict[str, Applicability] = {}
        facts = case.facts
        for gid, conds in self.populations.items():
            crits = self._population_leaves[gid]
            statuses = ({c.iri: c.evaluate(facts) for c in crits} if leaf is None
                        else {c.iri: leaf[c.iri] for c in crits})
            key = (gid, *[statuses[c.iri] for c in crits])
            app = self._applicability_cache.get(key)
            if app is None:
                if not conds:
                    app = Applicability(gid, "yes", review_status=self._review[gid])
                else:
                    memo: dict[str, str] = {}
                    status, criteria, missing = self._criteria_outcomes(conds, case, statuses,
                                                                        memo)
                    app = Applicability(gid, {MET: "yes", UNMET: "no"}.get(status, "undecided"),
                                        declared=True, criteria=criteria, missing=missing,
                                        review_status=self._review[gid])
                if len(self._applicability_cache) >= _CACHE_LIMIT:
                    self._applicability_cache.clear()
                self._applicability_cache[key] = app
            out[gid] = app
        return out

    def population_leaves(self, guideline: str) -> list[Criterion]:
        """The criteria of a guideline's population (none: it applies to every case)."""
        return self._population_leaves.get(guideline, [])

    def _with_population_verdicts(self, conclusions: list[Conclusion],
                                  applies: dict[str, Applicability]) -> list[Conclusion]:
        """The verdicts plus an undecided one on every action of each guideline whose
        population is undecided, naming the facts that decide the population (no action
        disappears), in dependency-stage order as every verdict list is."""
        out = list(conclusions)
        for group in self.decisions.groups:
            app = applies.get(group.guideline)
            if app is not None and app.applies == "undecided":
                out.append(Conclusion(
                    action=group.action, action_iri=group.action_iri, guideline=group.guideline,
                    guideline_iri=group.guideline_iri, direction="undecided", decided_by=[],
                    strength=None, missing_facts=sorted(app.missing, key=lambda k: (
                        self._key_order.get(k, len(self._key_order)), k)),
                    warnings=[f"population of {group.guideline} undecided: needs "
                              + ", ".join(app.missing)]))
        order = self._stage_order
        out.sort(key=lambda c: (order.get((c.guideline_iri, c.action_iri), len(order)),
                                c.guideline, c.action))
        return out

    def _staged(self, case: Case
                ) -> tuple[dict[str, RecommendationOutcome], list[Conclusion],
                           dict[str, Applicability]]:
        """Every outcome and verdict, action by action in dependency order: a stage's
        verdicts set the statuses of the dependent-action criteria the next stages read.
        Guidelines whose population does not (or may not) include the case are skipped."""
        use_cache = self.engine == "compiled"
        cache = self._outcome_cache
        self._scratch = None  # the reference engine's per-case decision store
        leaf = self.leaf_statuses(case)
        applies = self.applicability(case, leaf)
        skip = {g for g, a in applies.items() if a.applies != "yes"}
        waits: dict[str, list[str]] = {}  # dependent-action criterion -> facts its verdict needs
        memo: dict[str, str] = {}
        outcomes: dict[str, RecommendationOutcome] = {}
        conclusions: list[Conclusion] = []
        sparql = self.engine == "sparql"
        for stage in self.decisions.stages:
            decided: dict[tuple[str, str], Conclusion | None] = {}
            if skip:
                stage = [group for group in stage if group.guideline not in skip]
            for group in stage:
                got = []
                for spec in group.specs:
                    key = ((spec.iri, *[leaf[c] for c in spec.leaf_iris],
                            *[tuple(waits[c]) for c in spec.verdict_iris])
                           if use_cache else None)
                    outcome = cache.get(key) if key is not None else None
                    if outcome is None:
                        outcome = self._outcome(spec, case, leaf, memo, waits)
                        if key is not None:
                            if len(cache) >= _CACHE_LIMIT:
                                cache.clear()
                            cache[key] = outcome
                    outcomes[spec.iri] = outcome
                    got.append(outcome)
                if not sparql:
                    decided[group.key] = self._decide(group, outcomes, tuple(got))
            if sparql:
                decided = self._sparql_decide(stage, outcomes)
            for group in stage:
                conclusion = decided[group.key]
                if conclusion is not None:
                    conclusions.append(conclusion)
                if group.tested:
                    for crit, status, missing in self.decisions.verdict_statuses(group,
                                                                                 conclusion):
                        leaf[crit.iri] = status
                        waits[crit.iri] = missing
            if sparql and self.decisions.has_dependencies:
                self._sparql_verdict_statuses(stage, conclusions, leaf)
        if skip:
            conclusions = self._with_population_verdicts(conclusions, applies)
        return outcomes, conclusions, applies

    def _decide(self, group: ActionGroup, outcomes: dict[str, RecommendationOutcome],
                got: tuple[RecommendationOutcome | None, ...] | None = None
                ) -> Conclusion | None:
        """The compiled decision for one action.

        With the compiled engine, outcomes are shared objects (see :meth:`reason`), so a
        verdict is cached by the identity of its recommendations' outcomes (the entry keeps
        those outcomes alive, so an identity cannot be reused while its entry exists), and
        behind that by what a verdict reads of each outcome (status and missing facts):
        distinct outcomes often decide alike (a statement unmet by different criteria).
        """
        if got is None:
            got = tuple(outcomes.get(s.iri) for s in group.specs)
        compiled = self.engine == "compiled"
        cache = self._conclusion_cache
        if compiled:
            key = (group.index, *map(id, got))
            hit = cache.get(key)
            if hit is not None:
                return hit[0]
            signature = (group.index, *[o.signature if o is not None else None
                                        for o in got])
            found = cache.get(signature)
            if found is not None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[key] = (found[0], got)
                return found[0]
        value_of = self.decisions.value_of
        value = {s.iri: value_of(s.iri, o.status) if o is not None else 0
                 for s, o in zip(group.specs, got, strict=True)}
        standing, verdict = self.decisions.evaluate(group, value)
        conclusion = (None if verdict is None else self.decisions.conclusion(
            group, verdict, outcomes, value, standing, self._key_order))
        if compiled:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[key] = (conclusion, got)
            cache[signature] = (conclusion, ())
        return conclusion

    # -- reference decision semantics (queries/decide/) ---------------------------------
    def _decide_text(self, name: str) -> str:
        if name not in self._decide_queries:
            from guidegraph import resources
            self._decide_queries[name] = resources.resource(
                "queries", "decide", f"{name}.rq").read_text(encoding="utf-8")
        return self._decide_queries[name]

    def _decide_store(self, quads: list[ox.Quad]) -> ox.Store:
        """The case's decision store with ``quads`` added: what the decide queries read of the
        knowledge, and the case's outcomes and verdicts so far.

        Inserting and deleting scratch triples in the long-lived knowledge store slows every
        later query (the in-memory store keeps their history); one small store per case does
        not, and holds only the predicates the queries use.
        """
        if self._scratch is None:
            if self._decide_base is None:
                keep = {GG + p for p in ("action", "direction", "partOfGuideline",
                                         "hasRecommendation", "verdictOf", "comparator",
                                         "allowedValue", "notAwaited")} | {RDF_TYPE}
                self._decide_base = [q for q in self.knowledge.store
                                     if q.predicate.value in keep]
            self._scratch = ox.Store()
            self._scratch.bulk_extend(self._decide_base)
        self._scratch.bulk_extend(quads)
        return self._scratch

    def _sparql_decide(self, stage: list[ActionGroup],
                       outcomes: dict[str, RecommendationOutcome]
                       ) -> dict[tuple[str, str], Conclusion | None]:
        """standing.rq and verdict.rq over the stage's outcomes in a scratch graph."""
        scratch = ox.NamedNode(RUN_BASE + "scratch/decide")
        defeats = ox.NamedNode("urn:guidegraph:decide:defeats")
        standing_graph = ox.NamedNode("urn:guidegraph:decide:standing")
        evaluates, status = ox.NamedNode(GG + "evaluates"), ox.NamedNode(GG + "status")
        quads = []
        for group in stage:
            for j, spec in enumerate(group.specs):
                out = ox.NamedNode(f"{RUN_BASE}scratch/decide/{group.index}/{j}")
                o = outcomes[spec.iri]
                quads += [ox.Quad(out, evaluates, ox.NamedNode(spec.iri), scratch),
                          ox.Quad(out, status, ox.NamedNode(GG + o.status), scratch)]
                for d in self.decisions.defeaters.get(spec.iri, ()):
                    quads.append(ox.Quad(ox.NamedNode(d.winner), ox.NamedNode(GG + "overrides"),
                                         ox.NamedNode(spec.iri), defeats))
                if spec.iri in self.decisions.unsupported:
                    quads.append(ox.Quad(ox.NamedNode(spec.iri), ox.NamedNode(RDF_TYPE),
                                         ox.NamedNode(GG + "Unsupported"), defeats))
        store = self._decide_store(quads)
        standing: dict[str, int] = {}
        for row in store.query(self._decide_text("standing"), use_default_graph_as_union=True):
            rec = row["rec"].value
            standing[rec] = int(row["standing"].value)
            store.add(ox.Quad(row["rec"], ox.NamedNode(GG + "standing"),
                              ox.Literal(str(standing[rec]), datatype=ox.NamedNode(XSD_INTEGER)),
                              standing_graph))
        verdicts = {(row["guideline"].value, row["action"].value):
                    VERDICT_NAME[row["verdict"].value]
                    for row in store.query(self._decide_text("verdict"),
                                           use_default_graph_as_union=True)}
        out: dict[tuple[str, str], Conclusion | None] = {}
        for group in stage:
            value = {s.iri: self.decisions.value_of(s.iri, outcomes[s.iri].status)
                     for s in group.specs}
            verdict = verdicts.get(group.key)
            out[group.key] = None if verdict is None else self.decisions.conclusion(
                group, verdict, outcomes, value, {s.iri: standing[s.iri] for s in group.specs},
                self._key_order)
        return out

    def _sparql_verdict_statuses(self, stage: list[ActionGroup],
                                 conclusions: list[Conclusion], leaf: dict[str, str]) -> None:
        """verdict-criteria.rq: the reference status of each criterion testing a verdict of
        this stage, given every verdict reached so far."""
        graph = ox.NamedNode("urn:guidegraph:decide:verdicts")
        quads = []
        for c in conclusions:
            node = ox.NamedNode(f"{RUN_BASE}scratch/verdict/{c.guideline}/{c.action}")
            quads += [ox.Quad(node, ox.NamedNode(GG + "decidedUnder"),
                              ox.NamedNode(c.guideline_iri), graph),
                      ox.Quad(node, ox.NamedNode(GG + "action"), ox.NamedNode(c.action_iri),
                              graph),
                      ox.Quad(node, ox.NamedNode(GG + "verdict"),
                              ox.NamedNode(VERDICT_IRI[c.direction]), graph)]
        wanted = {crit.iri for g in stage for crit in self.decisions.by_action.get(g.key, ())}
        store = self._decide_store(quads)
        for row in store.query(self._decide_text("verdict-criteria"),
                               use_default_graph_as_union=True):
            if row["criterion"].value in wanted:
                leaf[row["criterion"].value] = row["status"].value.removeprefix(GG)

    def _reason_vector(self, case: Case) -> tuple[list, list, dict[str, int], list[Conclusion],
                                                 dict[str, Applicability]]:
        """Statuses and verdicts from numpy arrays; outcome objects only for what the result
        lists (every verdict reads only applicable or undecided statements, which it lists)."""
        import numpy as np

        from guidegraph.reasoning.vector import MET_CODE, UNMET_CODE

        vector = self._vector
        status, recs = vector.evaluate(case.facts)
        applies = self.applicability(case)
        skip = {g for g, a in applies.items() if a.applies != "yes"}
        keep = np.ones(len(recs), dtype=bool)
        if skip:  # a guideline outside its population contributes no statement
            keep[[i for i, s in enumerate(self.recommendations) if s.guideline in skip]] = False
            recs = np.where(keep, recs, UNMET_CODE).astype(recs.dtype)
        rejected: dict[str, int] = {}
        if self.why_not != "all":
            chosen = np.flatnonzero(recs != UNMET_CODE)
            per = np.bincount(vector.guideline_index[(recs == UNMET_CODE) & keep],
                              minlength=len(vector.guideline_ids))
            rejected = {g: int(n) for g, n in zip(vector.guideline_ids, per, strict=True) if n}
        elif skip:
            chosen = np.flatnonzero(keep)
        else:
            chosen = range(len(recs))
        cache = self._outcome_cache
        specs = self.recommendations
        derived, others = [], []
        built: dict[int, RecommendationOutcome] = {}
        memo: dict[str, str] = {}
        packed = status[vector.leaf_flat].tobytes()
        bounds = vector.leaf_bounds
        for i in chosen:
            spec = specs[i]
            start, end = bounds[i]
            key = (spec.iri, packed[start:end])
            outcome = cache.get(key)
            if outcome is None:
                leaf = {vector.criteria[j].iri: STATUS_ORDER[status[j]]
                        for j in vector.rec_leaves[i]}
                outcome = self._outcome(spec, case, leaf, memo)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[key] = outcome
            (derived if recs[i] == MET_CODE else others).append(outcome)
            built[i] = outcome
        conclusions = self._vector_decisions.decide(recs, built.__getitem__, self._key_order)
        if skip:
            conclusions = self._with_population_verdicts(
                [c for c in conclusions if c.guideline not in skip], applies)
        return derived, others, rejected, conclusions, applies

    def _result(self, case: Case, derived: list, others: list, rejected: dict[str, int],
                started: str, conclusions: list[Conclusion],
                applies: dict[str, Applicability]) -> Result:
        """``rejected``: per guideline, the rejected statements not listed."""
        tallies = {g: [0, 0, rejected.get(g, 0)] for g in applies}
        for o in derived:
            tallies[o.guideline][0] += 1
        for o in others:
            tallies[o.guideline][1 if o.status == UNKNOWN else 2] += 1
        undecided_unlisted = None
        if self.why_not == "none":  # only the statements an undecided verdict waits on
            pending = {(c.guideline, p.id) for c in conclusions for p in c.pending}
            listed = [o for o in others if (o.guideline, o.id) in pending]
            undecided_unlisted, others = len(others) - len(listed), listed
        missing_all = set().union(*[o.missing_set for o in others])
        missing_all.update(m for c in conclusions for m in c.missing_facts)
        missing_all.update(m for a in applies.values() for m in a.missing)
        conflicts = conflicts_of(conclusions, self.decisions.direction)
        order = self._key_order
        display = self.intake.display
        facts = case.facts
        return Result(
            case=case.iri, case_id=case.id, guidelines=[dict(g) for g in self.guidelines],
            recommendations=derived, not_applicable=others,
            missing_facts=sorted(missing_all, key=lambda k: order.get(k, len(order))),
            conflicts=conflicts, provenance=self.run_iri(case),
            facts={k: display(k, facts[k]) for k in sorted(facts, key=lambda k: order.get(k, 0))},
            defaulted=sorted(case.defaulted), started=started, ended=timestamp(),
            rejected=sum(rejected.values()) if self.why_not != "all" else None,
            undecided_unlisted=undecided_unlisted,
            tallies={g: (d, u, r) for g, (d, u, r) in tallies.items()},
            conclusions=conclusions, applicability=applies, disclaimers=self.disclaimers)

    def _outcome(self, spec: RecommendationSpec, case: Case, leaf: dict[str, str],
                 memo: dict[str, str], waits: dict[str, list[str]] | None = None
                 ) -> RecommendationOutcome:
        status, outcomes, missing = self._criteria_outcomes(spec.conditions, case, leaf, memo,
                                                            waits)
        return outcome_of(spec, status, outcomes, missing)

    def _criteria_outcomes(self, conditions: list[Condition], case: Case, leaf: dict[str, str],
                           memo: dict[str, str], waits: dict[str, list[str]] | None = None
                           ) -> tuple[str, list[CriterionOutcome], list[str]]:
        """All-of status of the conditions, the leaf criteria that decided it, and the facts
        an unknown status waits for."""
        statuses = [evaluate(c, leaf, memo) for c in conditions]
        status = UNMET if UNMET in statuses else UNKNOWN if UNKNOWN in statuses else MET
        facts = case.facts
        outcomes: list[CriterionOutcome] = []
        seen: set[str] = set()
        for cond, cstatus in zip(conditions, statuses, strict=True):
            if cstatus != status:
                continue
            for crit, path in decisive_leaves(cond, cstatus, memo):
                if crit.iri in seen:
                    continue
                seen.add(crit.iri)
                if crit.kind == "verdict":  # reads a verdict: waits for that verdict's facts
                    present, needs = False, sorted((waits or {}).get(crit.iri, ()))
                else:
                    present = crit.key in facts
                    needs = [] if present else [crit.key]
                outcomes.append(CriterionOutcome(
                    criterion=crit.id, label=crit.label, status=memo[crit.iri], iri=crit.iri,
                    fact_keys=[crit.key] if present else [],
                    missing=needs if memo[crit.iri] == UNKNOWN else [],
                    via=[g.id for g in path], section=crit.section))
        missing = sorted({m for o in outcomes for m in o.missing}) if status == UNKNOWN else []
        return status, outcomes, missing

    def run_iri(self, case: Case) -> str:
        """Deterministic run IRI: same case facts and same guideline content, same IRI."""
        digest = hashlib.sha256()
        digest.update(self._fingerprint.encode())
        digest.update(case.iri.encode())
        facts, defaulted = case.facts, case.defaulted
        digest.update("".join([f"\0{key}={facts[key]}{'*' if key in defaulted else ''}"
                               for key in sorted(facts)]).encode())
        return RUN_BASE + digest.hexdigest()[:32]


def _citation_notes(cited_by_iri: dict[str, dict[str, Any]]
                    ) -> tuple[list[str], list[str], list[str], list[str]]:
    """From a recommendation's citations: its sources (ref-N cited directly), the warnings
    on retracted or unresolved references, the citations those rest on, short cautions."""
    cited = sorted(cited_by_iri.items(), key=lambda kv: kv[1]["number"])
    sources = [f"ref-{c['number']}" for _, c in cited if c["direct"]]
    warnings: list[str] = []
    rests_on: list[str] = []
    cautions: list[str] = []
    for cit_iri, c in cited:
        if c["status"] not in ("retracted", "unresolved"):
            continue
        rests_on.append(cit_iri)
        cautions.append(f"{c['status']} [{c['number']}]")
        how = []
        if c["direct"]:
            how.append("cited directly")
        if c["via"]:
            how.append("through evidence " + ", ".join(sorted(set(c["via"]))))
        if c["status"] == "retracted":
            title = f" \"{c['title']}\"" if c["title"] else ""
            warnings.append(f"rests on retracted reference [{c['number']}]{title} "
                            f"({'; '.join(how)})")
        else:
            warnings.append(f"rests on reference [{c['number']}], cited in the text but "
                            f"missing from the reference list ({'; '.join(how)})")
    return sources, warnings, rests_on, cautions


@dataclass
class Compiled:
    """What a reasoner compiles from its knowledge's graphs, as the plan cache keeps it:
    data only (criteria rebuild their tests when unpickled)."""

    parts: tuple[str, ...]  # the content hash of every part it was compiled from
    guidelines: list[GuidelineInfo]
    contract: CaseContract
    plan: Plan
    recommendations: list[RecommendationSpec]
    decisions: DecisionPlan
    vector: VectorPlan | None = None
    vector_decisions: VectorDecisions | None = None


def _index_specs(specs: list[RecommendationSpec]) -> None:
    """Each recommendation's keys and leaves in a fixed order (what caches and the array
    evaluator are keyed by)."""
    for spec in specs:
        spec_leaves = {c.iri: c for cond in spec.conditions for c in leaves(cond)}
        spec.keys = tuple(sorted({c.key for c in spec_leaves.values() if c.key}))
        spec.leaf_iris = tuple(sorted(spec_leaves))
        spec.verdict_iris = tuple(sorted(i for i, c in spec_leaves.items()
                                         if c.kind == "verdict"))


class ReasonerCache:
    """Reasoners by the identity of their knowledge (the content hashes of its parts), so a
    long-running process rebuilds one only after the knowledge it reasons with changes."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._reasoners: dict[tuple[str, ...], Reasoner] = {}

    def get(self, key: tuple[str, ...], build: Callable[[], Knowledge]) -> Reasoner:
        """The reasoner of the knowledge ``build`` makes, known by ``key``."""
        return self._get(key, lambda: Reasoner(build()))

    def for_source(self, source: KnowledgeSource) -> Reasoner:
        """The reasoner of ``source``, its compiled plan read from the plan cache when the
        same knowledge was compiled before (as the CLI's is)."""
        return self._get(source.key, lambda: Reasoner(source=source))

    def _get(self, key: tuple[str, ...], make: Callable[[], Reasoner]) -> Reasoner:
        with self._lock:
            if key in self._reasoners:
                return self._reasoners[key]
        reasoner = make()  # outside the lock: compiling takes a while
        with self._lock:
            if len(self._reasoners) >= self.size:
                self._reasoners.pop(next(iter(self._reasoners)))
            return self._reasoners.setdefault(key, reasoner)
