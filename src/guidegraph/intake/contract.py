"""The case input contract, read from the SHACL case-contract shapes.

The shapes (shapes/case-contract-*.ttl) are the one place where case keys, types and ranges
live. This module turns them into a lookup table that the JSON intake, the RDF intake, the
error messages and the docs all use, so none of them restates the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import pyoxigraph as ox

from guidegraph.lexical import parse_lexical
from guidegraph.vocab import RDF, XSD

_KINDS = {
    XSD + "integer": "integer",
    XSD + "decimal": "decimal",
    XSD + "boolean": "boolean",
}

_CONTRACT_QUERY = """
PREFIX sh:   <http://www.w3.org/ns/shacl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX gg:   <https://w3id.org/guidegraph/ontology#>
SELECT ?shape ?path ?name ?datatype ?min ?max ?default ?description ?order WHERE {
  ?shape a sh:NodeShape ; sh:targetClass ?cls ; sh:property ?ps .
  ?cls rdfs:subClassOf* gg:Case .
  ?ps sh:path ?path ; sh:name ?name .
  OPTIONAL { ?ps sh:datatype ?datatype }
  OPTIONAL { ?ps sh:minInclusive ?min }
  OPTIONAL { ?ps sh:maxInclusive ?max }
  OPTIONAL { ?ps sh:defaultValue ?default }
  OPTIONAL { ?ps sh:description ?description }
  OPTIONAL { ?ps sh:order ?order }
}
"""

_ALLOWED_QUERY = """
PREFIX sh:   <http://www.w3.org/ns/shacl#>
SELECT ?path ?list WHERE {
  ?shape a sh:NodeShape ; sh:property ?ps .
  ?ps sh:path ?path ; sh:in ?list .
}
"""
_EQUIVALENT_QUERY = """
PREFIX owl:  <http://www.w3.org/2002/07/owl#>
SELECT ?a ?b WHERE { ?a owl:equivalentProperty ?b }
"""
_RDF = RDF
_NOTATION = ox.NamedNode("http://www.w3.org/2004/02/skos/core#notation")


def _list_items(store: ox.Store, head: ox.NamedNode | ox.BlankNode) -> list:
    """Members of an RDF list in order (SPARQL property paths lose the order)."""
    first, rest, nil = (ox.NamedNode(_RDF + n) for n in ("first", "rest", "nil"))
    items = []
    node = head
    while node != nil:
        items.extend(q.object for q in store.quads_for_pattern(node, first, None))
        nxt = [q.object for q in store.quads_for_pattern(node, rest, None)]
        if not nxt:
            break
        node = nxt[0]
    return items


@dataclass(frozen=True)
class FactSpec:
    """One case key: its RDF property, value kind, range or allowed values, and default."""

    key: str
    iri: str
    kind: str  # "integer" | "decimal" | "boolean" | "concept"
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    allowed: dict[str, str] = field(default_factory=dict)  # notation -> concept IRI
    default: str | None = None  # concept IRI or literal lexical form
    description: str = ""
    order: int = 0

    @cached_property
    def notations(self) -> dict[str, str]:
        """Concept IRI -> notation (the reverse of ``allowed``)."""
        return {iri: notation for notation, iri in self.allowed.items()}

    def from_display(self, shown: str) -> Any:
        """The typed fact value (as a case holds it) of a value as results show it."""
        return self.allowed[shown] if self.kind == "concept" else parse_lexical(self.kind, shown)

    def to_json(self, value: Any) -> Any:
        """A typed fact value as the plain JSON case format writes it."""
        if self.kind == "concept":
            return self.notations.get(value, value)
        if self.kind == "decimal":
            number = Decimal(value)
            return int(number) if number == number.to_integral_value() else float(number)
        return value

    def allowed_text(self) -> str:
        """What values the key takes, in words, for error messages and docs."""
        if self.kind == "concept":
            return "one of " + ", ".join(repr(n) for n in self.allowed)
        if self.kind == "boolean":
            return "true or false"
        noun = "an integer" if self.kind == "integer" else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{noun} from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"{noun} of at least {self.minimum}"
        if self.maximum is not None:
            return f"{noun} of at most {self.maximum}"
        return noun


@dataclass(frozen=True)
class CaseContract:
    """All case keys of all loaded contracts, by JSON key and by property IRI."""

    facts: dict[str, FactSpec]
    #: Groups of keys that state one fact: their properties are declared
    #: owl:equivalentProperty (directly or through each other). A case may give several keys
    #: of a group only with one value.
    equivalents: tuple[tuple[str, ...], ...] = ()

    @cached_property
    def by_iri(self) -> dict[str, FactSpec]:
        """Specs by property IRI (made once: a compile looks one up per criterion)."""
        return {spec.iri: spec for spec in self.facts.values()}

    def keys(self) -> list[str]:
        return list(self.facts)


def load_contract(store: ox.Store) -> CaseContract:
    """Read every case-contract shape in the store into one table."""
    allowed: dict[str, dict[str, str]] = {}
    for row in store.query(_ALLOWED_QUERY):
        values = allowed.setdefault(row["path"].value, {})
        for value in _list_items(store, row["list"]):
            notes = [q.object.value for q in store.quads_for_pattern(value, _NOTATION, None)]
            values[notes[0] if notes else value.value] = value.value
    facts: dict[str, FactSpec] = {}
    for row in store.query(_CONTRACT_QUERY):
        path = row["path"].value
        key = row["name"].value
        if row["datatype"] is not None:
            kind = _KINDS.get(row["datatype"].value)
            if kind is None:
                raise ValueError(f"case contract: key {key!r} has unsupported datatype "
                                 f"{row['datatype'].value}")
        elif path in allowed:
            kind = "concept"
        else:
            raise ValueError(f"case contract: key {key!r} needs sh:datatype or sh:in")
        facts[key] = FactSpec(
            key=key,
            iri=path,
            kind=kind,
            minimum=Decimal(row["min"].value) if row["min"] else None,
            maximum=Decimal(row["max"].value) if row["max"] else None,
            allowed=allowed.get(path, {}),
            default=row["default"].value if row["default"] else None,
            description=row["description"].value if row["description"] else "",
            order=int(row["order"].value) if row["order"] else 0,
        )
    ordered = sorted(facts.values(), key=lambda s: (s.order, s.key))
    by_key = {spec.key: spec for spec in ordered}
    return CaseContract(by_key, _equivalent_keys(store, by_key))


def _equivalent_keys(store: ox.Store, facts: dict[str, FactSpec]) -> tuple[tuple[str, ...], ...]:
    """Keys whose properties owl:equivalentProperty joins, grouped transitively; properties
    that are no case key are passed through (a key equivalent to a non-key equivalent to
    another key joins that key)."""
    key_of = {spec.iri: key for key, spec in facts.items()}
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    for row in store.query(_EQUIVALENT_QUERY):
        a, b = root(row["a"].value), root(row["b"].value)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for iri in list(parent) + list(parent.values()):
        if iri in key_of and key_of[iri] not in groups.setdefault(root(iri), []):
            groups[root(iri)].append(key_of[iri])
    order = {key: n for n, key in enumerate(facts)}
    return tuple(sorted((tuple(sorted(g, key=order.__getitem__)) for g in groups.values()
                         if len(g) > 1), key=lambda g: order[g[0]]))
