"""Case intake: plain JSON, JSON-LD or Turtle in; checked, typed case facts out.

Every check follows from the case contract (shapes/case-contract-*.ttl, read by
:mod:`guidegraph.intake.contract`) and every mapping from the published JSON-LD contexts
(ontology/contexts/*.jsonld), which are read from disk and never fetched. Plain JSON takes a
compiled fast path that produces the same RDF as the JSON-LD context would (a differential
test holds the two together).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pyoxigraph as ox

from guidegraph.errors import CaseInputError
from guidegraph.intake.contract import CaseContract, FactSpec
from guidegraph.knowledge.loading import context_files
from guidegraph.lexical import parse_lexical
from guidegraph.rdf_formats import BY_SUFFIX
from guidegraph.vocab import CASE_BASE, CONTEXT_BASE, GG_CASE, RDF_TYPE, XSD

#: whole, so this bounds memory; it is per file, not per case: a batch list of many small
#: cases under it is accepted. Lower it with ``GUIDEGRAPH_MAX_CASE_BYTES``.
MAX_CASE_BYTES = 16 * 1024 * 1024
#: Most triples one RDF case document (Turtle, N-Triples, JSON-LD) may hold: a case has a
#: few dozen facts, so anything far larger is refused while parsing, before it is checked.
#: Per document; plain JSON batch lists are checked case by case. ``GUIDEGRAPH_MAX_CASE_TRIPLES``.
MAX_CASE_TRIPLES = 10_000
MAX_BYTES_ENV = "GUIDEGRAPH_MAX_CASE_BYTES"
MAX_TRIPLES_ENV = "GUIDEGRAPH_MAX_CASE_TRIPLES"
#: RDF formats a case may be written in (RDF/XML is not: see :func:`parse_rdf`).
CASE_FORMATS = (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES, ox.RdfFormat.JSON_LD)
_RDF_XML_SUFFIXES = (".rdf", ".xml", ".owl")
_ID_KEY = "id"
_ID_MAX = 256
#: Bounds on a number's text, checked before it is converted: a case number has no use for
#: more characters or a larger exponent, and converting or printing one without bounds costs
#: time and memory out of all proportion to the input (1e999999999 is 11 bytes).
_NUMBER_MAX_CHARS = 40
_EXPONENT_MAX = 64


class NumberOutOfBounds:
    """A JSON number whose text exceeds the bounds: kept as a short prefix, never converted,
    so the value check refuses it naming the key."""

    def __init__(self, text: str) -> None:
        self.text = text[:24] + ("..." if len(text) > 24 else "")

    def __repr__(self) -> str:
        return self.text

    def why(self) -> str:
        return f"more than {_NUMBER_MAX_CHARS} characters or an exponent beyond ±{_EXPONENT_MAX}"


def _number_in_bounds(text: str) -> bool:
    """Whether a number's text is within the bounds (length, then exponent digits only)."""
    if len(text) > _NUMBER_MAX_CHARS:
        return False
    mark = max(text.find("e"), text.find("E"))
    if mark < 0:
        return True
    exponent = text[mark + 1:].lstrip("+-")
    return exponent.isdigit() and int(exponent) <= _EXPONENT_MAX


@dataclass(frozen=True)
class Case:
    """One patient case: its IRI and typed facts by JSON key. Absent keys are unknown."""

    id: str
    iri: str
    facts: dict[str, Any]
    defaulted: frozenset[str] = frozenset()
    source: str | None = None
    extra: tuple = field(default=(), compare=False)


class Intake:
    """Reads cases against the loaded contract and contexts."""

    def __init__(self, contract: CaseContract, context: dict[str, Any] | None = None) -> None:
        self.contract = contract
        self.by_iri = contract.by_iri
        self.context = context if context is not None else load_contexts()
        self.base = self.context.get("@base", CASE_BASE)

    # -- identity ---------------------------------------------------------------------
    def case_iri(self, case_id: str) -> str:
        """The case IRI: an id that is an absolute IRI as given, otherwise the id under the
        context base, percent-encoded. Whether it is an IRI is decided by the RDF library's
        own IRI parser (RFC 3987), not by a pattern: an id such as ``a:x> <p> <o> . <a:y``
        has a scheme but is no IRI, and is minted under the base, so it can never end an IRI
        in N-Triples or Turtle output and write triples of its own."""
        if ":" in case_id and not case_id.startswith(":") and case_id.split(":", 1)[0].isalpha():
            try:
                return ox.NamedNode(case_id).value
            except ValueError:
                pass
        return self.base + quote(case_id, safe="-._~")

    def case_id(self, iri: str) -> str:
        return unquote(iri[len(self.base):]) if iri.startswith(self.base) else iri

    # -- plain JSON -------------------------------------------------------------------
    def from_object(self, obj: Any, *, source: str | None = None) -> Case:
        """Check one plain JSON case object and type its facts."""
        if not isinstance(obj, dict):
            raise CaseInputError(
                f"a case must be a JSON object with an 'id' key, got {_json_type(obj)}",
                source=source,
            )
        if "@context" in obj:
            return self.from_jsonld(obj, source=source)
        case_id = obj.get(_ID_KEY)
        if not isinstance(case_id, str) or not case_id.strip() or len(case_id) > _ID_MAX:
            raise CaseInputError(
                f"key 'id': value {_show(case_id)} is not allowed; allowed: a non-empty string "
                f"of at most {_ID_MAX} characters (it becomes the case IRI)",
                key=_ID_KEY, value=case_id, allowed="non-empty string", source=source,
            )
        facts: dict[str, Any] = {}
        for key, value in obj.items():
            if key == _ID_KEY:
                continue
            spec = self.contract.facts.get(key)
            if spec is None:
                raise self._unknown_key(key, case_id, source)
            if value is None:  # explicit null: unknown, same as absent
                continue
            facts[key] = _check_json_value(spec, value, case_id, source)
        return self._with_defaults(case_id, self.case_iri(case_id), facts, source)

    def _unknown_key(self, key: str, case_id: str | None, source: str | None) -> CaseInputError:
        known = [_ID_KEY, *self.contract.keys()]
        close = difflib.get_close_matches(key, known, n=1) if len(key) <= 80 else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        shown = repr(key) if len(key) <= 80 else repr(key[:77]) + "..."
        return CaseInputError(
            f"unknown key {shown}{hint}; allowed keys: {', '.join(known)}",
            case=case_id, key=key[:80], allowed=", ".join(known), source=source,
        )

    def _with_defaults(self, case_id: str, iri: str, facts: dict[str, Any],
                       source: str | None) -> Case:
        stated = self._check_equivalents(case_id, facts, source)
        defaulted = []
        for key, spec in self.contract.facts.items():
            # A key whose equivalent the case gives is not defaulted: the given value
            # states the fact.
            if key not in facts and key not in stated and spec.default is not None:
                facts[key] = spec.default if spec.kind == "concept" else _parse_lexical(
                    spec, spec.default)
                defaulted.append(key)
        return Case(case_id, iri, facts, frozenset(defaulted), source)

    def _check_equivalents(self, case_id: str, facts: dict[str, Any],
                           source: str | None) -> set[str]:
        """Refuse two keys declared one fact (owl:equivalentProperty) given with different
        values; returns the keys of every group the case states."""
        stated: set[str] = set()
        for group in self.contract.equivalents:
            given = [key for key in group if key in facts]
            if not given:
                continue
            stated.update(group)
            first = given[0]
            for other in given[1:]:
                if not _same_value(self.contract.facts[first], facts[first],
                                   self.contract.facts[other], facts[other]):
                    shown = {k: display_value(self.contract.facts[k], facts[k])
                             for k in (first, other)}
                    raise CaseInputError(
                        f"keys {first!r} and {other!r} state one fact (their properties are "
                        f"declared owl:equivalentProperty) but have different values: "
                        f"{first!r} is {shown[first]}, {other!r} is {shown[other]}; give one "
                        "of them, or the same value in both",
                        case=case_id, key=other, value=shown[other],
                        allowed=f"the value of {first!r} ({shown[first]})", source=source)
        return stated

    # -- RDF ----------------------------------------------------------------------------
    def from_jsonld(self, doc: dict[str, Any], *, source: str | None = None) -> Case:
        """A JSON-LD case: published contexts resolve locally; remote ones are refused.

        A concept key whose value is an allowed notation must expand to that concept: a
        notation that is also a context term or prefix expands to the term's IRI instead
        (or to nothing), which is refused naming the key, the value and the term rather than
        read as another value or as unknown."""
        try:
            resolved = self._resolve_nested(doc, source)
            data = json.dumps(resolved, default=_jsonld_number).encode()
        except RecursionError:
            raise CaseInputError("JSON-LD nested too deeply", source=source) from None
        except ValueError as exc:  # e.g. a float NaN from a caller's own object
            raise CaseInputError(f"not valid JSON-LD: {exc}", source=source) from None
        notations = {key: (self.contract.facts[key], value) for key, value in doc.items()
                     if key in self.contract.facts and self.contract.facts[key].kind == "concept"
                     and isinstance(value, str) and value in self.contract.facts[key].allowed}
        case_id = doc.get(_ID_KEY) if isinstance(doc.get(_ID_KEY), str) else None
        try:
            cases = self.from_rdf(data, ox.RdfFormat.JSON_LD, source=source)
        except CaseInputError as exc:
            if exc.key in notations and isinstance(exc.value, ox.NamedNode | ox.BlankNode):
                spec, value = notations[exc.key]
                raise _expansion_error(resolved.get("@context"), spec, value, exc.value.value
                                       if isinstance(exc.value, ox.NamedNode) else None,
                                       exc.case or case_id, source) from None
            raise
        if len(cases) != 1:
            raise CaseInputError(f"a JSON-LD case document must describe one case, "
                                 f"found {len(cases)}", source=source)
        case = cases[0]
        for key, (spec, value) in notations.items():
            got = None if key in case.defaulted else case.facts.get(key)
            if got != spec.allowed[value]:
                raise _expansion_error(resolved.get("@context"), spec, value, got, case.id,
                                       source)
        return case

    def _resolve_context(self, ctx: Any, source: str | None) -> Any:
        if isinstance(ctx, list):
            return [self._resolve_context(c, source) for c in ctx]
        if isinstance(ctx, str):
            if ctx.startswith(CONTEXT_BASE):
                return self.context
            raise CaseInputError(
                f"remote JSON-LD @context {ctx!r} is not fetched; use the published context "
                f"{CONTEXT_BASE}stroke-case.jsonld (resolved locally) or embed it",
                key="@context", value=ctx, source=source,
            )
        if isinstance(ctx, dict):
            if "@import" in ctx:
                raise CaseInputError(f"JSON-LD @import {ctx['@import']!r} is not fetched; "
                                     "embed the context instead",
                                     key="@context", value=ctx["@import"], source=source)
            return {k: self._resolve_nested(v, source) for k, v in ctx.items()}
        return ctx

    def _resolve_nested(self, node: Any, source: str | None) -> Any:
        """Resolve every @context in a document: scoped and embedded contexts could name a
        remote context too (pyoxigraph would refuse it, but less clearly)."""
        if isinstance(node, list):
            return [self._resolve_nested(n, source) for n in node]
        if isinstance(node, dict):
            return {k: (self._resolve_context(v, source) if k == "@context"
                        else self._resolve_nested(v, source)) for k, v in node.items()}
        return node

    def from_rdf(self, data: bytes, fmt: ox.RdfFormat, *, source: str | None = None) -> list[Case]:
        """Parse RDF strictly and check every triple about each case against the contract."""
        quads = parse_rdf(data, fmt, self.base, source=source)
        subjects: dict[str, list[ox.Quad]] = {}
        for q in quads:
            subjects.setdefault(q.subject.value if isinstance(q.subject, ox.NamedNode)
                                else "_:" + q.subject.value, []).append(q)
        case_nodes = [s for s, qs in subjects.items()
                      if any(q.predicate.value == RDF_TYPE and q.object.value == GG_CASE
                             for q in qs)]
        if not case_nodes:
            case_nodes = [s for s, qs in subjects.items()
                          if any(q.predicate.value in self.by_iri for q in qs)]
        if not case_nodes and len(subjects) == 1:
            case_nodes = list(subjects)  # one subject: treat it as the case, check every triple
        if not case_nodes:
            raise CaseInputError(
                "no case found: type the case node gg:Case "
                f"(<{GG_CASE}>) or give it at least one case fact", source=source)
        for subject in subjects:
            if subject not in case_nodes:
                raise CaseInputError(
                    f"unexpected statements about {subject}: a case document may only describe "
                    "cases", source=source)
        return [self._case_from_quads(s, subjects[s], source) for s in case_nodes]

    def _case_from_quads(self, subject: str, quads: list[ox.Quad], source: str | None) -> Case:
        if subject.startswith("_:"):
            raise CaseInputError("a case needs an IRI (an 'id'), not a blank node", source=source)
        case_id = self.case_id(subject)
        facts: dict[str, Any] = {}
        for q in quads:
            pred = q.predicate.value
            if pred == RDF_TYPE:
                continue
            spec = self.by_iri.get(pred)
            if spec is None:
                raise CaseInputError(
                    f"unknown property <{pred}>; allowed: the case vocabulary properties "
                    f"({', '.join(self.contract.keys())})", case=case_id, value=pred,
                    source=source)
            if spec.key in facts:
                raise CaseInputError(
                    f"key {spec.key!r}: more than one value; allowed: at most one",
                    case=case_id, key=spec.key, source=source)
            facts[spec.key] = _check_rdf_value(spec, q.object, case_id, source)
        return self._with_defaults(case_id, subject, facts, source)

    # -- files and batches -------------------------------------------------------------
    def read(self, path: Path) -> Iterator[Case | CaseInputError]:
        """Cases from a file or a folder; a bad case yields its error and the rest go on."""
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.suffix in (".json", ".jsonl", ".ndjson", ".ttl", ".jsonld", ".nt"):
                    yield from self.read(child)
            return
        source = str(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            yield CaseInputError(f"cannot read file: {exc.strerror}", source=source)
            return
        try:
            limit = max_case_bytes()
        except CaseInputError as exc:
            yield exc
            return
        if path.suffix in (".jsonl", ".ndjson"):
            yield from self._read_lines(path, limit, source)
            return
        if size > limit and path.suffix == ".json" and _starts_a_list(path):
            yield from self._read_list(path, limit, source)
            return
        if size > limit:
            yield CaseInputError(_size_message("file", size, limit), source=source)
            return
        data = path.read_bytes()
        yield from self.read_bytes(data, path.suffix, source=source)

    def _read_lines(self, path: Path, limit: int, source: str
                    ) -> Iterator[Case | CaseInputError]:
        """An NDJSON file line by line, as it is read: the size limit applies to each case,
        so a batch of any length streams through in bounded memory."""
        with path.open("rb") as lines:
            for lineno, raw in enumerate(_bounded_lines(lines, limit), 1):
                where = f"{source}:{lineno}"
                if raw is None:
                    yield CaseInputError(
                        f"the line is longer than {limit} bytes, the limit per case "
                        f"(MAX_CASE_BYTES, set by ${MAX_BYTES_ENV})", source=where)
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield CaseInputError("not UTF-8 text", source=where)
                    continue
                if line.strip():
                    try:
                        yield from self._one_or_error(_loads(line, where), where)
                    except CaseInputError as exc:
                        yield exc

    def _read_list(self, path: Path, limit: int, source: str
                   ) -> Iterator[Case | CaseInputError]:
        """A JSON list larger than the limit, element by element as it is read: each
        element is held to the limit per case and read by the same strict reader as a
        whole file, so the list streams through in bounded memory."""
        with path.open("rb") as stream:
            for index, raw in enumerate(_list_elements(stream, limit, source)):
                where = f"{source}[{index}]"
                if isinstance(raw, CaseInputError):
                    yield raw
                    return
                if raw is None:
                    yield CaseInputError(
                        f"the element is longer than {limit} bytes, the limit per case "
                        f"(MAX_CASE_BYTES, set by ${MAX_BYTES_ENV})", source=where)
                    continue
                try:
                    yield from self._one_or_error(_loads(raw.decode("utf-8"), where), where)
                except CaseInputError as exc:
                    yield exc
                except UnicodeDecodeError:
                    yield CaseInputError("not UTF-8 text", source=where)

    def read_bytes(
        self, data: bytes, suffix: str, *, source: str
    ) -> Iterator[Case | CaseInputError]:
        """Cases from bytes, the format chosen by a file suffix (.json, .ndjson, .ttl, .nt,
        .jsonld); RDF/XML (.rdf, .xml, .owl) is refused."""
        try:
            limit = max_case_bytes()
            if len(data) > limit:
                raise CaseInputError(_size_message("input", len(data), limit), source=source)
            if suffix in _RDF_XML_SUFFIXES:
                raise _rdf_xml_refused(data, source)
            if suffix in (".ttl", ".nt"):
                yield from self.from_rdf(data, BY_SUFFIX[suffix].ox, source=source)
                return
            if suffix in (".jsonl", ".ndjson"):
                for lineno, line in enumerate(data.decode("utf-8").splitlines(), 1):
                    if line.strip():
                        yield from self._one_or_error(_loads(line, f"{source}:{lineno}"),
                                                      f"{source}:{lineno}")
                return
            doc = _loads(data.decode("utf-8"), source)
        except CaseInputError as exc:
            yield exc
            return
        except UnicodeDecodeError:
            yield CaseInputError("not UTF-8 text", source=source)
            return
        if isinstance(doc, list):
            for index, item in enumerate(doc):
                yield from self._one_or_error(item, f"{source}[{index}]")
        else:
            yield from self._one_or_error(doc, source)

    def _one_or_error(self, obj: Any, source: str) -> Iterator[Case | CaseInputError]:
        try:
            yield self.from_object(obj, source=source)
        except CaseInputError as exc:
            if exc.case is None and isinstance(obj, dict) and isinstance(obj.get("id"), str):
                exc.case = obj["id"]
            yield exc

    # -- RDF out -------------------------------------------------------------------------
    def triples(self, case: Case, *, include_defaults: bool = True) -> list[ox.Triple]:
        """The case as RDF: the triples the JSON-LD context would produce, plus its type."""
        subject = ox.NamedNode(case.iri)
        out = [ox.Triple(subject, ox.NamedNode(RDF_TYPE), ox.NamedNode(GG_CASE))]
        for key, value in case.facts.items():
            if not include_defaults and key in case.defaulted:
                continue
            spec = self.contract.facts[key]
            out.append(ox.Triple(subject, ox.NamedNode(spec.iri), rdf_term(spec, value)))
        return out

    def display(self, key: str, value: Any) -> str:
        """A fact value as a case author wrote it (concept notation, true/false, number)."""
        return display_value(self.contract.facts[key], value)


def load_contexts(paths: list[Path] | None = None) -> dict[str, Any]:
    """Merge the JSON-LD contexts (default: the shipped ones) into one; a term two contexts
    define differently is a ValueError naming it."""
    merged: dict[str, Any] = {}
    for path in context_files() if paths is None else paths:
        ctx = json.loads(path.read_text(encoding="utf-8"))["@context"]
        for term, definition in ctx.items():
            if term in merged and merged[term] != definition:
                raise ValueError(f"{path.name}: context term {term!r} conflicts with another "
                                 "context")
            merged[term] = definition
    return merged


@dataclass(frozen=True)
class ContextCollision:
    """An allowed notation of a concept key that JSON-LD does not expand to its concept."""

    key: str
    notation: str
    concept: str
    expands_to: str | None  # the IRI JSON-LD gives it; None when expansion drops the value
    term: str | None  # the context term or prefix it collides with, when one explains it


def jsonld_value(context: Any, key: str, value: Any) -> str | None:
    """What a JSON-LD context makes of one value of ``key``: the object of the triple it
    expands to (an IRI or a literal's text), or None when expansion drops it."""
    doc = {"@context": context, "@id": "urn:guidegraph:probe", key: value}
    quads = parse_rdf(json.dumps(doc).encode(), ox.RdfFormat.JSON_LD)
    objects = [q.object for q in quads if not isinstance(q.object, ox.BlankNode)]
    return objects[0].value if objects else None


def colliding_term(context: Any, key: str, value: str) -> str | None:
    """The context term or prefix that makes ``value`` of ``key`` expand to something else:
    the value itself as a term (of the key's scoped context or the context), or the prefix
    of a compact IRI. None when no term explains it."""
    terms: dict[str, Any] = {}
    for ctx in context if isinstance(context, list) else [context]:
        if isinstance(ctx, dict):
            terms.update(ctx)
    definition = terms.get(key)
    scoped = definition.get("@context") if isinstance(definition, dict) else None
    for candidates in (scoped if isinstance(scoped, dict) else {}, terms):
        if value in candidates and not value.startswith("@"):
            return value
        prefix, colon, _ = value.partition(":")
        if colon and prefix in candidates:
            return prefix
    return None


def context_collisions(contract: CaseContract, context: dict[str, Any]) -> list[ContextCollision]:
    """Every allowed notation of a concept key of ``context`` that JSON-LD expansion does not
    turn into the concept the contract means (a notation equal to a context term or prefix
    expands to that term's IRI), found by expanding each one."""
    out = []
    for key, spec in contract.facts.items():
        if spec.kind != "concept" or key not in context:
            continue
        for notation, concept in spec.allowed.items():
            got = jsonld_value(context, key, notation)
            if got != concept:
                out.append(ContextCollision(key, notation, concept, got,
                                            colliding_term(context, key, notation)))
    return out


def _expansion_error(context: Any, spec: FactSpec, value: str, got: str | None,
                     case_id: str | None, source: str | None) -> CaseInputError:
    term = colliding_term(context, spec.key, value)
    concept = spec.allowed[value]
    why = ""
    if term == value:
        why = f", because {value!r} is also a term of the JSON-LD context"
    elif term is not None:
        why = f", because its prefix {term!r} is a term of the JSON-LD context"
    became = f"<{got}>" if got is not None else "nothing (the value is dropped)"
    return CaseInputError(
        f"key {spec.key!r}: value {value!r} is allowed, but the JSON-LD context expands it to "
        f"{became} instead of the concept <{concept}>{why}; write the concept IRI in full "
        f"({concept!r}) or give the case as plain JSON",
        case=case_id, key=spec.key, value=value, allowed=spec.allowed_text(), source=source)


def _bounded_lines(stream: Any, limit: int) -> Iterator[bytes | None]:
    """The lines of a binary stream, each at most ``limit`` bytes; a longer one is skipped
    to its end and given as None (never held whole)."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(limit + 1)
            yield None
        else:
            yield line


def _starts_a_list(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(4096).lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"["


_OPEN, _CLOSE, _QUOTE, _ESCAPE = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")
_BLANK = frozenset(b" \t\r\n")


def _list_elements(stream: Any, limit: int, source: str,
                   chunk: int = 1 << 16) -> Iterator[bytes | CaseInputError | None]:
    """The text of each element of the JSON list on ``stream``, without parsing it: None
    for an element longer than ``limit`` (skipped to its end, never held whole), and a
    CaseInputError, last, when the list is not closed or text follows it.

    Only where each element ends is found here, by the brackets and strings around it
    (JSON's structure is ASCII, which never occurs inside a UTF-8 sequence); each element
    is then read by the strict reader. No maintained library splits a JSON list into
    element texts: streaming parsers (ijson) hand back built objects, which would skip the
    strict reader's checks (a repeated key, numbers out of bounds)."""
    depth, in_string, escaped, started, closed, after_comma = 0, False, False, False, False, False
    held = bytearray()
    too_long = False
    while True:
        data = stream.read(chunk)
        if not data:
            break
        for byte in data:
            if closed:
                if byte not in _BLANK:
                    yield CaseInputError("not valid JSON: text after the end of the list",
                                         source=source)
                    return
                continue
            if not started:
                if byte == ord("["):
                    started = True
                continue  # the BOM and blanks before it (checked by _starts_a_list)
            if in_string:
                escaped, in_string = (False, True) if escaped else (
                    byte == _ESCAPE, byte != _QUOTE)
            elif byte == _QUOTE:
                in_string = True
            elif byte in _OPEN:
                depth += 1
            elif depth and byte in _CLOSE:
                depth -= 1
            elif depth == 0 and byte in (ord(","), ord("]")):
                text = bytes(held).strip()
                if too_long:
                    yield None
                elif text or byte == ord(",") or after_comma:
                    yield text  # an empty element (",,", "[,", ",]") is refused by the reader
                held.clear()
                too_long, closed, after_comma = False, byte == ord("]"), byte == ord(",")
                continue
            if not too_long:
                held.append(byte)
                if len(held) > limit:
                    too_long = True
                    held.clear()
    if not closed:
        yield CaseInputError("not valid JSON: the list is not closed with ]", source=source)


def max_case_bytes() -> int:
    """:data:`MAX_CASE_BYTES`, or ``$GUIDEGRAPH_MAX_CASE_BYTES`` when set (read per call, so
    a service or test can tighten it without a restart)."""
    return _env_limit(MAX_BYTES_ENV, MAX_CASE_BYTES)


def max_case_triples() -> int:
    """:data:`MAX_CASE_TRIPLES`, or ``$GUIDEGRAPH_MAX_CASE_TRIPLES`` when set."""
    return _env_limit(MAX_TRIPLES_ENV, MAX_CASE_TRIPLES)


def _env_limit(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise CaseInputError(f"${name}={text!r} is not a positive whole number")
    return value


def _size_message(what: str, size: int, limit: int) -> str:
    return (f"{what} is {size} bytes; the limit is {limit} bytes per case file "
            f"(MAX_CASE_BYTES, set by ${MAX_BYTES_ENV})")


def _rdf_xml_refused(data: bytes, source: str | None) -> CaseInputError:
    head = data[:65536].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        return CaseInputError(
            "RDF/XML with a DOCTYPE / entity declaration is refused: an external entity "
            "would make the parser read files or the network, and nested internal entities "
            "expand without bound; case input is Turtle, N-Triples, JSON-LD or JSON",
            key="DOCTYPE", source=source)
    return CaseInputError("RDF/XML is not accepted as case input; use Turtle, N-Triples, "
                          "JSON-LD or JSON", source=source)


def parse_rdf(data: bytes, fmt: ox.RdfFormat, base: str | None = None, *,
              source: str | None = None) -> list[ox.Quad]:
    """The intake's parsing step: strict (pyoxigraph), offline, bounded.

    Refuses input over :func:`max_case_bytes`, documents with more than
    :func:`max_case_triples` triples (stopping as soon as the limit is passed), RDF/XML
    (DOCTYPE and entities are an XML parser's way to the network and to runaway expansion)
    and any syntax error, as :class:`CaseInputError` with a ``not valid <format>`` message.
    JSON-LD remote contexts are never loaded: pyoxigraph has no document loader set.
    """
    limit = max_case_bytes()
    if len(data) > limit:
        raise CaseInputError(_size_message("input", len(data), limit), source=source)
    if fmt not in CASE_FORMATS:
        raise _rdf_xml_refused(data, source) if fmt == ox.RdfFormat.RDF_XML else CaseInputError(
            f"{fmt.name} is not accepted as case input; use Turtle, N-Triples, JSON-LD or JSON",
            source=source)
    most = max_case_triples()
    quads: list[ox.Quad] = []
    try:
        for quad in ox.parse(data, format=fmt, base_iri=base):
            quads.append(quad)
            if len(quads) > most:
                raise CaseInputError(
                    f"more than {most} triples in one case document; the limit is {most} "
                    f"triples per case document (MAX_CASE_TRIPLES, set by ${MAX_TRIPLES_ENV})",
                    source=source)
    except (SyntaxError, ValueError, UnicodeError) as exc:
        raise CaseInputError(f"not valid {fmt.name}: {exc}", source=source) from None
    except MemoryError as exc:  # the parser's own buffer bound (one token or document)
        raise CaseInputError(f"not accepted as {fmt.name}: {str(exc)[:120]}; a case document "
                             "or one of its values is too large for the parser",
                             source=source) from None
    return quads


def rdf_term(spec: FactSpec, value: Any) -> ox.NamedNode | ox.Literal:
    if spec.kind == "concept":
        return ox.NamedNode(value)
    if spec.kind == "boolean":
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD + "boolean"))
    if spec.kind == "integer":
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))
    return ox.Literal(format(value, "f"), datatype=ox.NamedNode(XSD + "decimal"))


def display_value(spec: FactSpec, value: Any) -> str:
    if spec.kind == "concept":
        return spec.notations.get(value, value)
    if spec.kind == "boolean":
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _loads(text: str, source: str) -> Any:
    def refuse_constant(name: str) -> Any:
        raise CaseInputError(f"{name} is not a JSON number", source=source)

    def number(text: str) -> Any:
        return Decimal(text) if _number_in_bounds(text) else NumberOutOfBounds(text)

    def integer(text: str) -> Any:
        return int(text) if _number_in_bounds(text) else NumberOutOfBounds(text)

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise CaseInputError(
                    f"key {_show(key)} appears twice in one JSON object; allowed: each key "
                    "once (a repeated key would silently replace the first value)",
                    key=key[:80], source=source)
            out[key] = value
        return out

    try:
        doc = json.loads(text, parse_float=number, parse_int=integer,
                         parse_constant=refuse_constant, object_pairs_hook=unique)
        if "\\u" in text or not _utf8(text):  # else no string of doc can hold one
            _refuse_surrogates(doc, source)
        return doc
    except json.JSONDecodeError as exc:
        raise CaseInputError(f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                             f"{exc.colno}", source=source) from None
    except RecursionError:
        raise CaseInputError("JSON nested too deeply", source=source) from None


def _utf8(text: str) -> bool:
    """Whether the text is Unicode text (no lone surrogate), asked of the whole text at once."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_surrogates(value: Any, source: str) -> None:
    """A JSON string may spell a lone surrogate (``"\\ud800"``), which is no Unicode text:
    it cannot become an IRI, a literal or a line of output, so it is refused here."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                shown = item[:40].encode("utf-8", "backslashreplace").decode("ascii",
                                                                             "backslashreplace")
                raise CaseInputError(
                    f"the string '{shown}' holds a lone surrogate, which is not Unicode "
                    "text; allowed: valid Unicode (a pair of surrogates for one character)",
                    source=source) from None


def _check_json_value(spec: FactSpec, value: Any, case_id: str, source: str | None) -> Any:
    ok: Any = None
    if spec.kind == "boolean":
        ok = value if isinstance(value, bool) else None
    elif spec.kind == "integer":
        ok = value if isinstance(value, int) and not isinstance(value, bool) else None
    elif spec.kind == "decimal":
        if isinstance(value, int) and not isinstance(value, bool):
            ok = Decimal(value)
        elif isinstance(value, Decimal | float) and Decimal(value).is_finite():
            ok = Decimal(value) if isinstance(value, Decimal) else Decimal(repr(value))
    elif spec.kind == "concept" and isinstance(value, str):
        ok = spec.allowed.get(value)
    if ok is None or not _in_range(spec, ok):
        raise _value_error(spec, value, case_id, source)
    return ok


def _check_rdf_value(spec: FactSpec, term: Any, case_id: str, source: str | None) -> Any:
    if spec.kind == "concept":
        if isinstance(term, ox.NamedNode) and term.value in spec.notations:
            return term.value
        raise _value_error(spec, term, case_id, source)
    if not isinstance(term, ox.Literal):
        raise _value_error(spec, term, case_id, source)
    datatype = term.datatype.value
    expected = {"integer": {XSD + "integer"}, "decimal": {XSD + "decimal", XSD + "integer"},
                "boolean": {XSD + "boolean"}}[spec.kind]
    if datatype not in expected:
        raise CaseInputError(
            f"key {spec.key!r}: value {term} has datatype <{datatype}>; allowed: "
            f"{spec.allowed_text()} typed as " + " or ".join(f"<{d}>" for d in sorted(expected)),
            case=case_id, key=spec.key, value=str(term), allowed=spec.allowed_text(),
            source=source)
    try:
        value = _parse_lexical(spec, term.value)
    except ValueError:
        raise _value_error(spec, term, case_id, source) from None
    if not _in_range(spec, value):
        raise _value_error(spec, term, case_id, source)
    return value


def _parse_lexical(spec: FactSpec, lexical: str) -> Any:
    if spec.kind in ("integer", "decimal") and not _number_in_bounds(lexical.strip()):
        raise ValueError(lexical[:40])
    return parse_lexical(spec.kind, lexical)


def _same_value(spec_a: FactSpec, a: Any, spec_b: FactSpec, b: Any) -> bool:
    """Whether two typed fact values state the same thing: numbers compare as numbers (an
    integer key and a decimal key may be equivalent), everything else as the same term."""
    numeric = ("integer", "decimal")
    if spec_a.kind in numeric and spec_b.kind in numeric:
        return Decimal(a) == Decimal(b)
    return spec_a.kind == spec_b.kind and a == b


def _in_range(spec: FactSpec, value: Any) -> bool:
    if spec.kind in ("integer", "decimal"):
        if spec.minimum is not None and value < spec.minimum:
            return False
        if spec.maximum is not None and value > spec.maximum:
            return False
    return True


def _value_error(spec: FactSpec, value: Any, case_id: str, source: str | None) -> CaseInputError:
    hint = ""
    if spec.kind == "concept" and isinstance(value, str):
        close = difflib.get_close_matches(value, list(spec.allowed), n=1, cutoff=0.5)
        lowered = {n.lower(): n for n in spec.allowed}
        if value.lower() in lowered:
            close = [lowered[value.lower()]]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    return CaseInputError(
        f"key {spec.key!r}: value {_show(value)} is not allowed{hint}; allowed: "
        f"{spec.allowed_text()}",
        case=case_id, key=spec.key, value=value, allowed=spec.allowed_text(), source=source)


def _show(value: Any) -> str:
    if isinstance(value, ox.NamedNode | ox.Literal):
        return str(value)
    if isinstance(value, NumberOutOfBounds):
        return f"{value.text} ({value.why()})"
    if isinstance(value, Decimal):
        text = format(value, "f") if abs(value.as_tuple().exponent) <= _EXPONENT_MAX else str(
            value)
        return text if len(text) <= 80 else text[:77] + "..."
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _jsonld_number(value: Any) -> float:
    """Decimals (how the intake reads JSON numbers) back to JSON numbers for the JSON-LD
    parser, which reads them as doubles anyway (toRdf writes 69.5 as "6.95E1")."""
    if isinstance(value, Decimal):
        number = float(value)
        if number in (float("inf"), float("-inf")):
            raise ValueError("a number beyond the range of a double (about 1.8e308)")
        return number
    if isinstance(value, NumberOutOfBounds):
        raise ValueError(f"the number {value.text} has {value.why()}")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", Decimal: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def stdin_suffix(data: bytes) -> str:
    """The format of cases on standard input, which has no file name to tell it: Turtle
    when it opens with a Turtle directive or IRI, NDJSON when its first line is a whole JSON
    object and more lines follow (a pretty-printed object's first line is only ``{``), else
    JSON (one case, or a list)."""
    head = data.lstrip()[:16].lower()
    if head.startswith((b"@prefix", b"@base", b"prefix", b"base", b"<")):
        return ".ttl"
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].lstrip().startswith(b"{"):
        try:
            json.loads(lines[0])
        except ValueError:
            return ".json"
        return ".ndjson"
    return ".json"

