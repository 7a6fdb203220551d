"""SHACL by whole-graph queries: a shapes graph compiled to SPARQL and run on Oxigraph.

pySHACL evaluates each constraint once per focus node, in Python over rdflib: ~0.75 s of
fixed cost per run on the ontology alone and ~0.1 s more per recommendation, so a
10,000-recommendation guideline does not validate in minutes. Here every constraint of a
shape becomes one SELECT over the whole data graph (focus nodes from the shape's targets,
value nodes from its path) that Oxigraph answers at once, and the rows become the same
report graph pySHACL builds (same result nodes, same messages, blank-node shapes and paths
cloned by pySHACL's own cloner). No maintained library runs SHACL on Oxigraph, which is why
this module exists.

Only the part of SHACL listed in ``_NODE_KEYS`` / ``_VALUE_KEYS`` is compiled; a shapes graph
using anything else raises :class:`Unsupported` and the caller runs pySHACL instead, so a
shape an author adds never validates differently, only more slowly. A SPARQL constraint's
``$this`` is pre-bound by joining the focus nodes as the first element of its WHERE group;
tests hold the whole report to pySHACL's on every shape fixture.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox
import rdflib
from rdflib import RDF, RDFS, SH, BNode, Literal, URIRef
from rdflib.collection import Collection

__all__ = ["Unsupported", "compile_shapes", "run_compiled"]


class Unsupported(Exception):
    """The shapes graph uses SHACL the compiler does not translate (validate runs pySHACL)."""


#: Predicates a shape may carry that the compiler reads or that never change a result.
_NODE_KEYS = {SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf,
              SH.property, SH.sparql, SH.severity, SH.message, SH.path, SH.deactivated,
              SH.name, SH.description, SH.order, SH.group, SH.defaultValue}
#: Constraint parameters compiled to a condition on one value node.
_VALUE_KEYS = {SH["class"], SH.nodeKind, SH.datatype, SH.minInclusive, SH.minExclusive,
               SH.maxInclusive, SH.maxExclusive, SH["in"], SH.xone}
_COUNT_KEYS = {SH.minCount, SH.maxCount}
_COMPONENT = {SH["class"]: SH.ClassConstraintComponent,
              SH.nodeKind: SH.NodeKindConstraintComponent,
              SH.datatype: SH.DatatypeConstraintComponent,
              SH.minInclusive: SH.MinInclusiveConstraintComponent,
              SH.minExclusive: SH.MinExclusiveConstraintComponent,
              SH.maxInclusive: SH.MaxInclusiveConstraintComponent,
              SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
              SH["in"]: SH.InConstraintComponent, SH.xone: SH.XoneConstraintComponent,
              SH.minCount: SH.MinCountConstraintComponent,
              SH.maxCount: SH.MaxCountConstraintComponent}
_RANGE_OP = {SH.minInclusive: ">=", SH.minExclusive: ">", SH.maxInclusive: "<=",
             SH.maxExclusive: "<"}
_NODE_KIND = {SH.IRI: "isIRI({v})", SH.Literal: "isLiteral({v})", SH.BlankNode: "isBlank({v})",
              SH.BlankNodeOrIRI: "!isLiteral({v})", SH.BlankNodeOrLiteral: "!isIRI({v})",
              SH.IRIOrLiteral: "!isBlank({v})"}
_XSD = "http://www.w3.org/2001/XMLSchema#"
#: Datatypes whose well-formedness SPARQL can test by casting (an ill-typed literal of
#: them fails sh:datatype in pySHACL too).
_CASTABLE = {_XSD + n for n in ("boolean", "integer", "decimal", "double", "float", "string",
                                "dateTime", "date", "time", "duration", "dayTimeDuration",
                                "yearMonthDuration")}
_INSTANCE_OF = f"<{RDF.type}>/<{RDFS.subClassOf}>*"
#: A count constraint nested in sh:xone is tested by that many distinct values; past this,
#: the pattern grows quadratically and pySHACL is used.
_MAX_NESTED_COUNT = 4


@dataclass
class _Check:
    """One compiled constraint: its query and what every result of it reports."""

    query: str
    shape: rdflib.term.Node
    component: URIRef
    severity: URIRef
    messages: list[Literal]
    path: rdflib.term.Node | None = None
    constraint: rdflib.term.Node | None = None
    extra: list[Literal] = field(default_factory=list)
    value_is_focus: bool = False
    #: For a SPARQL constraint whose ``$this`` sits in a nested group, the focus query:
    #: the constraint then runs once per focus node, ``?this`` substituted.
    focus: str | None = None


def compile_shapes(shapes: rdflib.Graph, *, messages_required: bool = True) -> list[_Check]:
    """Every constraint of every targeted shape, as a query; Unsupported if any is not
    compiled. A core constraint without sh:message is Unsupported unless
    ``messages_required`` is false (its results then carry no message: pySHACL's generic
    wording is not reproduced)."""
    compiler = _Compiler(shapes, messages_required)
    return list(compiler.checks())


def run_compiled(data: rdflib.Graph, shapes: rdflib.Graph,
                 checks: list[_Check] | None = None) -> rdflib.Graph:
    """The SHACL validation report graph of ``data`` against ``shapes``, as pySHACL
    (advanced, no inference, warnings allowed) builds it; ``checks`` from
    :func:`compile_shapes` of the same graph."""
    checks = compile_shapes(shapes) if checks is None else checks
    store, originals = _load(data)
    report = rdflib.Graph(bind_namespaces="core")
    for prefix, ns in shapes.namespace_manager.namespaces():
        report.namespace_manager.bind(prefix, ns)
    top = BNode()
    report.add((top, RDF.type, SH.ValidationReport))
    conforms = True
    cloned: dict[tuple[int, rdflib.term.Node], rdflib.term.Node] = {}
    for check in checks:
        for row in _rows(store, check, originals):
            conforms = conforms and check.severity in (SH.Warning, SH.Info)
            report.add((top, SH.result, _result(report, check, row, data, shapes, cloned)))
    report.add((top, SH.conforms, Literal(conforms)))
    return report


# ---------------------------------------------------------------------------
# Rows and result nodes
# ---------------------------------------------------------------------------
def _load(data: rdflib.Graph) -> tuple[ox.Store, dict[ox.Literal, Literal]]:
    """The data graph in an Oxigraph store, and the data's literal for each literal the
    store returns.

    Oxigraph keeps typed literals of the datatypes it knows in canonical form ("1.50" of
    xsd:decimal comes back as "1.5"); an author must see the value as written, so each
    such literal is mapped back (when two spellings of one value occur, to the first)."""
    store = ox.Store()
    store.bulk_extend(ox.Quad(*map(_to_ox, t)) for t in data)
    typed = sorted({o for o in data.objects() if isinstance(o, Literal) and o.datatype
                    is not None and str(o.datatype) != _XSD + "string"}, key=_sort_key)
    probe = ox.Store()
    is_ = ox.NamedNode("urn:guidegraph:shacl:literal")
    probe.bulk_extend(ox.Quad(ox.NamedNode(f"urn:guidegraph:shacl:literal:{i}"), is_,
                              _to_ox(lit)) for i, lit in enumerate(typed))
    originals: dict[ox.Literal, Literal] = {}
    for quad in probe:
        index = int(quad.subject.value.rsplit(":", 1)[1])
        originals.setdefault(quad.object, typed[index])
    return store, originals


def _sort_key(lit: Literal) -> tuple[str, str]:
    return str(lit.datatype), str(lit)


def _rows(store: ox.Store, check: _Check, originals: dict[ox.Literal, Literal]
          ) -> Iterator[dict[str, rdflib.term.Node]]:
    """The query's solutions as rdflib terms, without repeats (pySHACL drops them too)."""
    try:
        if check.focus is None:
            yield from _solutions(store.query(check.query), originals, None)
            return
        this = ox.Variable("this")
        for solution in store.query(check.focus):
            node = solution["this"]
            yield from _solutions(store.query(check.query, substitutions={this: node}),
                                  originals, _from_ox(node))
    except SyntaxError as exc:  # e.g. a prefix the constraint does not declare
        raise Unsupported(f"the query of {check.constraint or check.shape}: {exc}"[:300]
                          ) from None


def _solutions(solutions: ox.QuerySolutions, originals: dict[ox.Literal, Literal],
               focus: rdflib.term.Node | None) -> Iterator[dict[str, rdflib.term.Node]]:
    seen: set[frozenset[tuple[str, rdflib.term.Node]]] = set()
    names = [v.value for v in solutions.variables]
    for solution in solutions:
        row = {n: originals.get(solution[n]) or _from_ox(solution[n]) for n in names
               if solution[n] is not None}
        if focus is not None:
            row.setdefault("this", focus)
        key = frozenset(row.items())
        if key not in seen:
            seen.add(key)
            yield row


def _result(report: rdflib.Graph, check: _Check, row: dict[str, rdflib.term.Node],
            data: rdflib.Graph, shapes: rdflib.Graph,
            cloned: dict[tuple[int, rdflib.term.Node], rdflib.term.Node]) -> BNode:
    from pyshacl.rdfutil import clone_blank_node

    def copy(source: rdflib.Graph, node: rdflib.term.Node) -> rdflib.term.Node:
        if not isinstance(node, BNode):
            return node
        key = (id(source), node)
        if key not in cloned:
            cloned[key] = clone_blank_node(source, node, report, keepid=True)
        return cloned[key]

    focus = row["this"]
    value = row.get("value")
    if value is None and check.value_is_focus:
        value = focus
    path = row.get("path", check.path)
    r = BNode()
    report.add((r, RDF.type, SH.ValidationResult))
    report.add((r, SH.sourceConstraintComponent, check.component))
    report.add((r, SH.sourceShape, copy(shapes, check.shape)))
    report.add((r, SH.resultSeverity, check.severity))
    report.add((r, SH.focusNode, copy(data, focus)))
    if value is not None:
        report.add((r, SH.value, copy(data, value)))
    if path is not None:
        report.add((r, SH.resultPath, copy(shapes, path)))
    if check.constraint is not None:
        report.add((r, SH.sourceConstraint, copy(shapes, check.constraint)))
    bound = {**row, "value": value} if check.constraint is not None else None
    for message in [m for m in check.extra if m not in check.messages] + check.messages:
        report.add((r, SH.resultMessage, _format(message, bound)))
    return r


def _format(message: Literal, bound: dict[str, rdflib.term.Node] | None) -> Literal:
    """A SPARQL constraint's message with ``{?var}`` / ``{$var}`` filled from its row."""
    if bound is None:
        return message
    text = str(message)
    for name, term in bound.items():
        if term is not None:
            text = text.replace("{?" + name + "}", str(term)).replace("{$" + name + "}",
                                                                      str(term))
    return Literal(text)


def _to_ox(term: rdflib.term.Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise Unsupported(f"a data graph term of kind {type(term).__name__}")


def _from_ox(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> rdflib.term.Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    return Literal(term.value, datatype=None if datatype == _XSD + "string" else datatype)


# ---------------------------------------------------------------------------
# The compiler
# ---------------------------------------------------------------------------
class _Compiler:
    """Shapes graph -> checks. Variables are numbered so nested patterns never clash."""

    def __init__(self, shapes: rdflib.Graph, messages_required: bool) -> None:
        self.g = shapes
        self.messages_required = messages_required
        self._n = itertools.count()

    def var(self) -> str:
        return f"?gg_v{next(self._n)}"

    # -- shapes and their focus nodes -------------------------------------------------
    def checks(self) -> Iterator[_Check]:
        targeted = set()
        for key in (SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf):
            targeted.update(self.g.subjects(key, None))
        for key in (SH.parameter, SH.validator, SH.nodeValidator, SH.propertyValidator):
            for component in self.g.subjects(key, None):
                raise Unsupported(f"the constraint component {component}")
        for cls in self.g.subjects(RDF.type, RDFS.Class):
            if (cls, RDF.type, SH.NodeShape) in self.g:
                raise Unsupported(f"implicit class target of {cls}")
        for shape in sorted(targeted, key=str):
            if self._deactivated(shape):
                continue
            focus = self.focus(shape)
            yield from self.shape_checks(shape, focus)

    def focus(self, shape: rdflib.term.Node) -> str:
        parts = [f"{{ ?this {_INSTANCE_OF} {_n3(c)} }}"
                 for c in self.g.objects(shape, SH.targetClass)]
        parts += [f"{{ VALUES ?this {{ {_n3(n)} }} }}"
                  for n in self.g.objects(shape, SH.targetNode)]
        parts += [f"{{ [] {_n3(p)} ?this }}" for p in self.g.objects(shape, SH.targetObjectsOf)]
        parts += [f"{{ ?this {_n3(p)} [] }}" for p in self.g.objects(shape, SH.targetSubjectsOf)]
        return "{ SELECT DISTINCT ?this WHERE { " + " UNION ".join(sorted(parts)) + " } }"

    def shape_checks(self, shape: rdflib.term.Node, focus: str) -> Iterator[_Check]:
        """The checks of a targeted shape: its own constraints, then its property shapes'."""
        self._known(shape)
        path = self.g.value(shape, SH.path)
        if path is not None:  # a property shape with targets of its own
            yield from self.property_checks(shape, focus)
            return
        for key in sorted(_VALUE_KEYS & set(self.g.predicates(shape)), key=str):
            for param in self.g.objects(shape, key):
                cond = self.violates(key, param, "?this")
                severity, messages = self._core(shape)
                yield _Check(f"SELECT DISTINCT ?this WHERE {{ {focus} FILTER ({cond}) }}",
                             shape, _COMPONENT[key], severity, messages, value_is_focus=True)
        for key in _COUNT_KEYS & set(self.g.predicates(shape)):
            raise Unsupported(f"{key} on node shape {shape}")
        for constraint in sorted(self.g.objects(shape, SH.sparql), key=str):
            check = self.sparql_check(shape, constraint, focus, self._severity(shape),
                                      self._messages(shape))
            if check is not None:
                yield check
        for prop in sorted(self.g.objects(shape, SH.property), key=str):
            if not self._deactivated(prop):
                yield from self.property_checks(prop, focus)

    def property_checks(self, prop: rdflib.term.Node, focus: str) -> Iterator[_Check]:
        self._known(prop)
        if set(self.g.objects(prop, SH.sparql)) or set(self.g.objects(prop, SH.property)):
            raise Unsupported(f"nested constraints on property shape {prop}")
        path_node = self.g.value(prop, SH.path)
        path = self.path(path_node)
        severity, messages = self._core(prop)
        for key in sorted(_VALUE_KEYS & set(self.g.predicates(prop)), key=str):
            for param in self.g.objects(prop, key):
                cond = self.violates(key, param, "?value")
                yield _Check(f"SELECT DISTINCT ?this ?value WHERE {{ {focus} "
                             f"?this {path} ?value FILTER ({cond}) }}",
                             prop, _COMPONENT[key], severity, messages, path=path_node)
        for key, op in ((SH.minCount, "<"), (SH.maxCount, ">")):
            for param in self.g.objects(prop, key):
                n = self._count(param)
                if key == SH.minCount and n == 0:
                    continue
                yield _Check(
                    "SELECT ?this WHERE { { SELECT ?this (COUNT(DISTINCT ?value) AS ?gg_n) "
                    f"WHERE {{ {focus} OPTIONAL {{ ?this {path} ?value }} }} GROUP BY ?this }} "
                    f"FILTER (?gg_n {op} {n}) }}",
                    prop, _COMPONENT[key], severity, messages, path=path_node)

    # -- constraints as conditions --------------------------------------------------------
    def violates(self, key: URIRef, param: rdflib.term.Node, v: str) -> str:
        """A SPARQL expression true when value node ``v`` violates ``key param``."""
        if key == SH["class"]:
            return f"NOT EXISTS {{ {v} {_INSTANCE_OF} {_n3(param)} }}"
        if key == SH.nodeKind:
            if param not in _NODE_KIND:
                raise Unsupported(f"sh:nodeKind {param}")
            return "!" + _NODE_KIND[param].format(v=v)
        if key == SH.datatype:
            if str(param).startswith(_XSD) and str(param) not in _CASTABLE:
                raise Unsupported(f"sh:datatype {param} (its well-formedness is not tested)")
            well_formed = (f" && COALESCE(isLiteral({_n3(param)}({v})), false)"
                           if str(param) in _CASTABLE else "")
            return (f"!(isLiteral({v}) && sameTerm(datatype({v}), {_n3(param)})"
                    f"{well_formed})")
        if key in _RANGE_OP:
            return f"!COALESCE({v} {_RANGE_OP[key]} {_n3(param)}, false)"
        if key == SH["in"]:
            members = [f"sameTerm({v}, {_n3(m)})" for m in Collection(self.g, param)]
            return "!(" + (" || ".join(members) or "false") + ")"
        if key == SH.xone:
            count = " + ".join(f"IF({self.conforms(m, v)}, 1, 0)"
                               for m in Collection(self.g, param))
            return f"({count or '0'}) != 1"
        raise Unsupported(str(key))

    def conforms(self, shape: rdflib.term.Node, v: str) -> str:
        """A SPARQL expression true when node ``v`` conforms to ``shape`` (targets ignored,
        as for a shape inside sh:xone)."""
        self._known(shape)
        if set(self.g.objects(shape, SH.sparql)):
            raise Unsupported(f"a SPARQL constraint inside a logical constraint ({shape})")
        tests = []
        path_node = self.g.value(shape, SH.path)
        if path_node is None:
            tests += [f"!({self.violates(k, p, v)})" for k in sorted(_VALUE_KEYS, key=str)
                      for p in self.g.objects(shape, k)]
            if set(self.g.predicates(shape)) & _COUNT_KEYS:
                raise Unsupported(f"a count constraint on node shape {shape}")
            tests += [self.conforms(p, v) for p in self.g.objects(shape, SH.property)]
        else:
            path = self.path(path_node)
            for key in sorted(_VALUE_KEYS, key=str):
                for param in self.g.objects(shape, key):
                    x = self.var()
                    tests.append(f"NOT EXISTS {{ {v} {path} {x} "
                                 f"FILTER ({self.violates(key, param, x)}) }}")
            for param in self.g.objects(shape, SH.minCount):
                tests.append(f"EXISTS {{ {self._distinct(v, path, self._nested(param))} }}")
            for param in self.g.objects(shape, SH.maxCount):
                tests.append(f"NOT EXISTS {{ {self._distinct(v, path, self._nested(param) + 1)} }}")
        return "(" + (" && ".join(tests) or "true") + ")"

    def _distinct(self, v: str, path: str, n: int) -> str:
        """A pattern with ``n`` distinct values of ``v``'s path."""
        xs = [self.var() for _ in range(n)]
        pattern = " ".join(f"{v} {path} {x} ." for x in xs)
        pairs = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(xs, 2)]
        return pattern + (f" FILTER ({' && '.join(pairs)})" if pairs else "")

    def _nested(self, param: rdflib.term.Node) -> int:
        n = self._count(param)
        if n > _MAX_NESTED_COUNT:
            raise Unsupported(f"a count of {n} inside a logical constraint")
        return n

    # -- SPARQL-based constraints ---------------------------------------------------------
    def sparql_check(self, shape: rdflib.term.Node, constraint: rdflib.term.Node, focus: str,
                     severity: URIRef, messages: list[Literal]) -> _Check | None:
        if self._deactivated(constraint):
            return None
        text = self.g.value(constraint, SH.select)
        if text is None or self.g.value(constraint, SH.ask) is not None:
            raise Unsupported(f"SPARQL constraint {constraint} without a single sh:select")
        body = str(text)
        for banned in ("$PATH", "$value", "$shapesGraph", "$currentShape", "?failure"):
            if banned in body:
                raise Unsupported(f"{banned} in SPARQL constraint {constraint}")
        body = body.replace("$this", "?this")
        nested = _this_nested(body)
        query = self._prologue(constraint) + (body if nested else _prebind(body, focus))
        return _Check(query, shape, SH.SPARQLConstraintComponent, severity, messages,
                      constraint=constraint, extra=self._messages(constraint),
                      value_is_focus=self.g.value(shape, SH.path) is None,
                      focus=f"SELECT ?this WHERE {{ {focus} }}" if nested else None)

    def _prologue(self, constraint: rdflib.term.Node) -> str:
        lines = []
        for holder in self.g.objects(constraint, SH.prefixes):
            for decl in self.g.objects(holder, SH.declare):
                prefix = self.g.value(decl, SH.prefix)
                namespace = self.g.value(decl, SH.namespace)
                lines.append(f"PREFIX {prefix}: <{namespace}>")
        return "\n".join(sorted(set(lines))) + "\n"

    # -- parts ----------------------------------------------------------------------------
    def path(self, node: rdflib.term.Node | None) -> str:
        """A SHACL property path in SPARQL syntax."""
        if node is None:
            raise Unsupported("a property shape without sh:path")
        if isinstance(node, URIRef):
            return _n3(node)
        if self.g.value(node, RDF.first) is not None:
            return "(" + "/".join(self.path(m) for m in Collection(self.g, node)) + ")"
        for key, template in ((SH.alternativePath, None), (SH.inversePath, "^({})"),
                              (SH.zeroOrMorePath, "({})*"), (SH.oneOrMorePath, "({})+"),
                              (SH.zeroOrOnePath, "({})?")):
            inner = self.g.value(node, key)
            if inner is None:
                continue
            if template is None:
                return "(" + "|".join(self.path(m) for m in Collection(self.g, inner)) + ")"
            return template.format(self.path(inner))
        raise Unsupported(f"the property path {node}")

    def _known(self, shape: rdflib.term.Node) -> None:
        for key in set(self.g.predicates(shape)):
            if str(key).startswith(str(SH)) and key not in (_NODE_KEYS | _VALUE_KEYS
                                                             | _COUNT_KEYS):
                raise Unsupported(f"{self.g.namespace_manager.normalizeUri(key)} on shape "
                                  f"{self.g.namespace_manager.normalizeUri(shape)}")

    def _severity(self, shape: rdflib.term.Node) -> URIRef:
        severity = self.g.value(shape, SH.severity)
        return severity if isinstance(severity, URIRef) else SH.Violation

    def _messages(self, node: rdflib.term.Node) -> list[Literal]:
        return sorted(m for m in self.g.objects(node, SH.message) if isinstance(m, Literal))

    def _core(self, shape: rdflib.term.Node) -> tuple[URIRef, list[Literal]]:
        """Severity and messages of a shape's core constraints, which need a message of
        their own: pySHACL's generic messages are not reproduced."""
        messages = self._messages(shape)
        if not messages and self.messages_required:
            raise Unsupported(f"shape {shape} has no sh:message (pySHACL writes its own)")
        return self._severity(shape), messages

    def _deactivated(self, node: rdflib.term.Node) -> bool:
        flag = self.g.value(node, SH.deactivated)
        return isinstance(flag, Literal) and flag.toPython() is True

    def _count(self, param: rdflib.term.Node) -> int:
        value = param.toPython() if isinstance(param, Literal) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise Unsupported(f"the count {param}")
        return value


def _n3(term: rdflib.term.Node) -> str:
    if isinstance(term, BNode):
        raise Unsupported("a blank node as a constraint parameter")
    return term.n3()


def _prebind(select: str, focus: str) -> str:
    """Insert ``focus`` as the first element of the query's WHERE group, so ``?this`` is
    bound before anything in the group reads it (pySHACL pre-binds it per focus node).

    The WHERE group is the first ``{`` outside strings, IRIs, comments and brackets.
    """
    depth = 0
    for i, ch, in _code(select):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "{" and depth == 0:
            return select[:i + 1] + " " + focus + " " + select[i + 1:]
    raise Unsupported("a SPARQL constraint without a WHERE group")


def _this_nested(select: str) -> bool:
    """Whether ``?this`` occurs in a group nested in the WHERE group, other than an EXISTS
    test (which sees the row's bindings), an OPTIONAL of the WHERE group (a left join on
    the focus rows) or a group or sub-select that starts with a triple pattern on ``?this``
    (which binds it before anything reads it; see :func:`_binds_this_first`): joining the
    focus nodes first would then not pre-bind it, so the constraint runs per focus node.
    Refuses what SHACL-SPARQL forbids (MINUS, VALUES, SERVICE, ``AS ?this``, a sub-select
    not returning ``?this``)."""
    stack: list[bool] = []  # per open group: whether it sees the focus row's bindings
    word = ""
    nested = False
    code = "".join(ch if keep else " " for ch, keep in _mask(select))
    for i, ch in enumerate(code):
        if ch.isalnum() or ch in "_?$":
            word += ch
            continue
        word, ended = "", word.upper()
        if ended in ("MINUS", "VALUES", "SERVICE"):
            raise Unsupported(f"{ended} in a SPARQL constraint (SHACL-SPARQL forbids it)")
        if ended == "SELECT" and stack and "?this" not in code[i:code.find("{", i)]:
            raise Unsupported("a sub-select that does not return $this")
        if ended == "?THIS" and len(stack) > 1 and not all(stack[1:]):
            nested = True
        if ch == "{":
            opener = _last_word(code, i)
            binds_first = _binds_this_first(code, i)
            stack.append(opener == "EXISTS" or (all(stack[1:]) and (
                opener == "OPTIONAL" or binds_first)))
        elif ch == "}" and stack:
            stack.pop()
    if "AS ?THIS" in " ".join(code.upper().split()):
        raise Unsupported("AS $this in a SPARQL constraint (SHACL-SPARQL forbids it)")
    return nested


def _binds_this_first(code: str, i: int) -> bool:
    """Whether the group opened at ``i`` starts, through any nesting of groups and
    sub-selects, with a triple pattern on ``?this``, and every GROUP BY in it keeps
    ``?this``: its solutions then bind ``?this`` themselves, so joining them with the focus
    rows gives what pre-binding gives."""
    end = _group_end(code, i)
    body = " ".join(code[i:end].split()).upper()
    for part in body.split("GROUP BY")[1:]:
        if "?THIS" not in part.split("}")[0]:
            return False
    j = i + 1
    while True:
        rest = code[j:].lstrip()
        j = len(code) - len(rest)
        if rest.startswith("{"):
            j += 1
        elif rest[:6].upper() == "SELECT":
            j = code.find("{", j)
            if j < 0:
                return False
            j += 1
        else:
            return rest.startswith("?this ")


def _group_end(code: str, i: int) -> int:
    depth = 0
    for j in range(i, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code)


def _last_word(code: str, i: int) -> str:
    """The keyword just before position ``i`` ("(EXISTS {" gives EXISTS)."""
    end = len(code[:i].rstrip())
    start = end
    while start > 0 and code[start - 1].isalpha():
        start -= 1
    return code[start:end].upper()


def _mask(text: str) -> Iterator[tuple[str, bool]]:
    """Each character of ``text`` and whether it is SPARQL code (not string, IRI, comment)."""
    code = {i for i, _ in _code(text)}
    for i, ch in enumerate(text):
        yield ch, i in code


def _code(text: str) -> Iterable[tuple[int, str]]:
    """The characters of SPARQL text that are not inside a string, an IRI or a comment."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                j += 2 if text[j] == "\\" else 1
            i = j + len(quote)
            continue
        if ch == "<" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] not in "=":
            end = text.find(">", i)
            if end > 0 and not any(c.isspace() for c in text[i + 1:end]):
                i = end + 1
                continue
        yield i, ch
        i += 1
