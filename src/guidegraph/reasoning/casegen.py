"""Generated cases over the case contract, for differential tests and the benchmark."""

from __future__ import annotations

import random
from decimal import Decimal

from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.vocab import GG


def generated_cases(reasoner: Reasoner, count: int, seed: int,
                    keys: set[str] | None = None) -> list[dict]:
    """Random cases over the contract, biased to threshold edges and missing facts."""
    rng = random.Random(seed)
    edges: dict[str, list] = {}
    for crit in reasoner.plan.criteria:
        spec = reasoner.contract.facts[crit.key]
        if spec.kind in ("integer", "decimal"):
            for value in (reasoner.knowledge.store.query(
                    f"SELECT ?t WHERE {{ <{crit.iri}> "
                    f"<{GG}threshold> ?t }}")):
                t = Decimal(value["t"].value)
                edges.setdefault(crit.key, []).extend([t - 1, t, t + 1, t - Decimal("0.5")])
    cases = []
    for index in range(count):
        case: dict = {"id": f"gen-{index}"}
        for key, spec in reasoner.contract.facts.items():
            if keys is not None and key not in keys:
                continue
            if rng.random() < 0.3:
                continue
            if spec.kind == "concept":
                case[key] = rng.choice(list(spec.allowed))
            elif spec.kind == "boolean":
                case[key] = rng.random() < 0.5
            else:
                low = spec.minimum if spec.minimum is not None else Decimal(0)
                high = spec.maximum if spec.maximum is not None else Decimal(100)
                pool = [v for v in edges.get(key, []) if low <= v <= high]
                if pool and rng.random() < 0.6:
                    value = rng.choice(pool)
                elif spec.kind == "integer":
                    value = rng.randint(int(low), int(high))
                else:  # one decimal place, inside the range
                    value = Decimal(rng.randint(int(low * 10), int(high * 10))) / 10
                    value = min(max(value, low), high)
                case[key] = int(value) if spec.kind == "integer" else value
        cases.append(case)
    return cases
