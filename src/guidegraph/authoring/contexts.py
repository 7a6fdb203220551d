"""JSON-LD contexts: they merge, and no allowed notation reads as a context term.

A family of its own because it checks what neither SHACL nor the reasoner sees: how the
JSON-LD parser case intake uses would read a case, against how the plain JSON reader does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import Literal, URIRef

from guidegraph.authoring.report import GGSH, Finding, display_path

if TYPE_CHECKING:
    from guidegraph.intake.cases import ContextCollision
    from guidegraph.intake.contract import CaseContract

__all__ = ["CONTEXT_COLLISION", "CONTEXT_CONFLICT", "context_checks"]


# Sources of the results (described in authoring.ttl).
CONTEXT_CONFLICT = GGSH["ContextCheck-conflict"]
CONTEXT_COLLISION = GGSH["ContextCheck-termCollision"]


def context_checks(contexts: list[Path], vocabulary: list[Path]) -> list[Finding]:
    """The contexts merge (a term defined differently by two is a violation), and every
    allowed notation of a concept key expands to its concept under the merged context:
    JSON-LD reads a value that is also a context term or prefix as that term (a value equal
    to a prefix as the prefix's IRI), or drops it, while plain JSON cases read the contract
    and get the concept, so the two formats would disagree. Checked by expanding each
    notation with the JSON-LD parser case intake uses."""
    import pyoxigraph as ox

    from guidegraph.intake.cases import context_collisions, load_contexts
    from guidegraph.intake.contract import load_contract
    from guidegraph.knowledge.loading import load_file

    if not contexts:
        return []
    try:
        merged = load_contexts(contexts)
    except (ValueError, KeyError) as exc:
        return [(CONTEXT_CONFLICT, "Violation", None,
                 f"The JSON-LD contexts cannot be merged: {exc}. Every context is merged into "
                 "one for JSON-LD cases: give the key one definition (the same in every "
                 "context that repeats it) or rename it in one of them.", None)]
    defined_in: dict[str, str] = {}
    for path in contexts:
        for term in json.loads(path.read_text(encoding="utf-8"))["@context"]:
            defined_in.setdefault(term, display_path(path))
    store = ox.Store()
    for path in vocabulary:
        load_file(store, path)
    try:
        contract = load_contract(store)
    except ValueError:
        return []  # the contract shapes report it
    return [_collision(c, contract, defined_in) for c in context_collisions(contract, merged)]


def _collision(c: ContextCollision, contract: CaseContract,
               defined_in: dict[str, str]) -> Finding:
    """The finding for one notation that does not expand to its concept."""
    became = f"<{c.expands_to}>" if c.expands_to else "nothing (the value is dropped)"
    if c.term == c.notation:
        why = (f"is also the context term {c.term!r} (defined in "
               f"{defined_in.get(c.term, 'the key scoped context')})")
    elif c.term is not None:
        why = (f"reads as a compact IRI with the context prefix {c.term!r} (defined in "
               f"{defined_in.get(c.term, 'the key scoped context')})")
    else:
        why = "does not expand to its concept"
    return (
        CONTEXT_COLLISION, "Violation", URIRef(contract.facts[c.key].iri),
        f"JSON-LD context key {c.key!r}: the allowed value {c.notation!r} {why}, so a "
        f"JSON-LD case writing \"{c.key}\": \"{c.notation}\" gets {became} instead of "
        f"the concept <{c.concept}> (plain JSON cases get the concept: the two formats "
        "disagree). Rename the concept's skos:notation (in its vocabulary and the case "
        "contract), or rename the context term.", Literal(c.notation), None,
        defined_in.get(c.key))
