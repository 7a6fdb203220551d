"""Fuzzing the case intake: over 10,000 generated inputs (plain JSON, raw bytes, Turtle,
JSON-LD; valid and not). Each must give a Result or a typed CaseInputError with a message,
never another exception, and bounded work: a short message, and a result no larger than a
case can make it (time per input is reported, not asserted: these machines are noisy, and
time belongs in bench/). Derandomized, so CI runs the same inputs.

Most inputs are built from one hypothesis-drawn random source per example rather than from
nested strategies: structured strategies cost 10-30 ms of hypothesis bookkeeping per example
on this 2-core machine, which would put 10,000 inputs over the suite's time budget. The
raw-bytes test uses hypothesis' own strategies (and its shrinking).
"""

from __future__ import annotations

import functools
import json
import random
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidegraph.errors import CaseInputError
from guidegraph.intake.cases import Case
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.reasoning.result import Result, render_text

TIMES: list[float] = []
SLOWEST: list[Any] = []
#: Bounds of the work one input may cause: an error message quotes a short prefix of the bad
#: value, and one case's JSON result holds every recommendation once, whatever the input.
MAX_MESSAGE = 2_000
MAX_RESULT = 200_000
FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PUBLISHED = "https://w3id.org/guidegraph/context/stroke-case.jsonld"
CASE_BASE = "https://w3id.org/guidegraph/case/"
SOURCE = st.randoms(use_true_random=True)


@functools.cache
def reasoner() -> Reasoner:
    """One warmed-up reasoner for every example (hypothesis runs examples outside fixtures):
    the time limit is per input on a loaded reasoner, not for loading it."""
    loaded = Reasoner()
    for item in loaded.intake.read_bytes(b'{"id": "warm-up"}', ".json", source="warm-up"):
        loaded.reason(item)
    return loaded


def check(data: bytes, suffix: str) -> None:
    """The contract under test, timed per input."""
    r = reasoner()
    started = time.perf_counter()
    for item in r.intake.read_bytes(data, suffix, source="fuzz" + suffix):
        if isinstance(item, CaseInputError):
            assert item.message.strip() and str(item), repr(item)
            assert len(str(item)) <= MAX_MESSAGE, (len(str(item)), data[:200])
            continue
        assert isinstance(item, Case)
        result = r.reason(item)
        assert isinstance(result, Result)
        text = result.to_json_text()
        assert len(text) <= MAX_RESULT, (len(text), data[:200])
        json.loads(text)
        render_text(result)
    elapsed = time.perf_counter() - started
    if not TIMES or elapsed > max(TIMES):
        SLOWEST[:] = [data[:300], suffix]
    TIMES.append(elapsed)


@pytest.fixture(scope="module", autouse=True)
def report_times() -> Any:
    yield
    if TIMES:
        print(f"\nfuzz: {len(TIMES)} inputs, max {max(TIMES) * 1000:.1f} ms, "
              f"mean {sum(TIMES) / len(TIMES) * 1000:.2f} ms per input; slowest {SLOWEST!r}")


# -- pieces ------------------------------------------------------------------------------------
ODD_STRINGS = ["NaN", "nan", "-NaN", "Infinity", "-Infinity", "inf", "1e309", "", " ", "null",
               "true", "1", "0x10", "٣", "１２", "\u202e", "\x00", "2b ", "M1\n", "\ud800",
               '"', "\\", "{}", "#", "@id", "_:b", "<x>", "e\u0301", "🧠" * 20, "x" * 1000]
CHARS = "aZ09 _-.:/#?@\"'\\{}[]<>\n\t\x00é€𝔘\u200b\ud83e"


def odd_text(rnd: random.Random) -> str:
    return "".join(rnd.choice(CHARS) for _ in range(rnd.randint(0, 24)))


def odd_value(rnd: random.Random, depth: int = 0) -> Any:
    pick = rnd.randrange(12 if depth < 3 else 10)
    if pick == 0:
        return rnd.choice(ODD_STRINGS)
    if pick == 1:
        return rnd.choice([10 ** 40, -(10 ** 40), 2 ** 63, -1, 0, 10 ** 4000])
    if pick == 2:
        return rnd.choice([0.1, -0.0, 1e308, 5e-324, 69.5, 1e-7])
    if pick == 3:
        return Decimal(rnd.choice(["1E+400", "-1E-400", "70.000", "1e2", "0.5"]))
    if pick == 4:
        return odd_text(rnd)
    if pick in (5, 6):
        return rnd.choice([True, False, None])
    if pick == 7:
        return rnd.randint(-5, 200)
    if pick in (8, 9):
        return rnd.choice(["acute", "2b", "M1", "basilar", "high", "embolic", "none"])
    if pick == 10:
        return [odd_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    return {odd_text(rnd): odd_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))}


def valid_value(rnd: random.Random, spec: Any) -> Any:
    if spec.kind == "boolean":
        return rnd.random() < 0.5
    if spec.kind == "concept":
        return rnd.choice(sorted(spec.allowed))
    low = int(spec.minimum) if spec.minimum is not None else -1000
    high = int(spec.maximum) if spec.maximum is not None else 1000
    edge = rnd.choice([low, high, low - 1, high + 1, rnd.randint(low, high)])
    if spec.kind == "integer":
        return edge
    return Decimal(edge) + Decimal(rnd.choice(["0", "0.5", "0.25", "-0.01"]))


def json_case(rnd: random.Random) -> Any:
    specs = reasoner().contract.facts
    case: dict[str, Any] = {}
    if rnd.random() < 0.9:
        case["id"] = rnd.choice(['x" } ; DROP ALL #', "a/b?c#d", "é", "urn:x", " ", "x" * 300,
                                 "http://example.org/c", odd_text(rnd) or "c", "case-1"])
    else:
        case["id"] = odd_value(rnd)
    for key in rnd.sample(sorted(specs), rnd.randint(0, 8)):
        case[key] = valid_value(rnd, specs[key]) if rnd.random() < 0.75 else odd_value(rnd)
    if rnd.random() < 0.15:
        case[rnd.choice([odd_text(rnd), "Tici", "tici ", "@type", "@graph", "_id"])] = \
            odd_value(rnd)
    if rnd.random() < 0.08:
        return odd_value(rnd) if rnd.random() < 0.5 else [case] * rnd.randint(0, 4)
    return case


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, default=lambda d: float(d) if isinstance(d, Decimal) else str(d),
                      ensure_ascii=False).encode("utf-8", "surrogatepass")


# -- plain JSON --------------------------------------------------------------------------------
@settings(FUZZ, max_examples=3500, derandomize=True)
@given(SOURCE)
def test_fuzz_plain_json(rnd: random.Random) -> None:
    case = json_case(rnd)
    text = dumps(case)
    if rnd.random() < 0.1:  # the same through NDJSON
        check(text.replace(b"\n", b"\\n") + b"\n" + text, ".ndjson")
    else:
        check(text, ".json")


@settings(FUZZ, max_examples=1000, derandomize=True)
@given(st.one_of(st.binary(max_size=200),
                 st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                 SOURCE.map(lambda r: dumps(json_case(r))).flatmap(
                     lambda b: st.integers(0, max(len(b) - 1, 0)).map(
                         lambda i: b[:i] + b[i + 1:]))),
       st.sampled_from([".json", ".ndjson", ".jsonld", ".ttl", ".nt"]))
def test_fuzz_raw_bytes(data: bytes, suffix: str) -> None:
    check(data, suffix)


# -- Turtle ------------------------------------------------------------------------------------
PREFIXES = [
    "@prefix gg: <https://w3id.org/guidegraph/ontology#> .",
    "@prefix stroke: <https://w3id.org/guidegraph/vocab/stroke#> .",
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
    "PREFIX tici: <https://w3id.org/guidegraph/vocab/stroke/tici/>",
    "@base <https://w3id.org/guidegraph/case/> .",
]
SUBJECTS = [f"<{CASE_BASE}fz>", "<fz>", "_:b0", "[]", "<https://example.org/other>",
            f"<{CASE_BASE}x%22%20%7D>"]
BAD_OBJECTS = ['"NaN"^^xsd:decimal', '"abc"', "1e400", "-1", '"1"^^xsd:string', "[]",
               "<http://example.org/x>", '"2b"@en', "true", "99999999999999999999999", "()",
               '"\\u0000"', "_:x", '"INF"^^xsd:decimal', '"1.5"^^xsd:integer', '" 1 "^^xsd:integer',
               '"+1"^^xsd:boolean', "( 1 2 )", "[ a gg:Case ]", '"""multi\nline"""']
CORRUPT = ["", ".", ";", "<", ">", '"', "'", "\\", "\\u00", "@prefix", "[", "]", "(", ")",
           "_:b", "^^", "@en", "#", "\n", "\x00", "é", "<http://a b>", '"""', "a", ",", "{",
           "\ud800", "@base <relative> ."]


def rdf_object(rnd: random.Random, spec: Any) -> str:
    if rnd.random() < 0.25:
        return rnd.choice(BAD_OBJECTS)
    value = valid_value(rnd, spec)
    if spec.kind == "concept":
        return f"<{spec.allowed[value]}>"
    if spec.kind == "boolean":
        return "true" if value else "false"
    if spec.kind == "integer":
        return str(value)
    return rnd.choice([f'"{value}"^^xsd:decimal', str(value) if "." in str(value)
                       else f"{value}.0", f'"{value}"^^<http://www.w3.org/2001/XMLSchema#decimal>'])


def turtle_doc(rnd: random.Random) -> bytes:
    specs = reasoner().contract.facts
    statements = ["a gg:Case"] if rnd.random() < 0.5 else []
    for key in rnd.sample(sorted(specs), rnd.randint(0, 6)):
        statements.append(f"<{specs[key].iri}> {rdf_object(rnd, specs[key])}")
    if rnd.random() < 0.1:
        statements.append("<http://example.org/unknown> 1")
    lines = [p for p in PREFIXES if rnd.random() < 0.85]
    lines.append(rnd.choice(SUBJECTS) + " " + " ;\n  ".join(statements or ["a gg:Case"]) + " .")
    if rnd.random() < 0.1:  # a second case, or something that is not a case
        lines.append(rnd.choice(SUBJECTS) + " a gg:Case .")
    text = "\n".join(lines)
    for _ in range(rnd.choice([0, 0, 1, 1, 2, 3])):
        at = rnd.randint(0, len(text))
        text = text[:at] + rnd.choice(CORRUPT) + text[at + rnd.randint(0, 3):]
    return text.encode("utf-8", "surrogatepass")


@settings(FUZZ, max_examples=3500, derandomize=True)
@given(SOURCE)
def test_fuzz_turtle(rnd: random.Random) -> None:
    check(turtle_doc(rnd), ".ttl")


# -- JSON-LD with odd contexts -----------------------------------------------------------------
def odd_context(rnd: random.Random, depth: int = 0) -> Any:
    options: list[Any] = [
        PUBLISHED, [PUBLISHED], {}, None, 7, "http://127.0.0.1:9/ctx", "file:///etc/passwd", "",
        "ctx.jsonld", PUBLISHED + "/../x", "data:application/ld+json,{}",
        {"@import": PUBLISHED}, {"@vocab": "https://w3id.org/guidegraph/vocab/stroke#"},
        {"@base": "file:///tmp/"}, {"@version": 1.1}, {"@version": 2}, {"@protected": True},
        {"id": "@id", "tici": {"@id": "@type"}}, {"x": {"@context": "http://127.0.0.1:9/"}},
        {"@propagate": False}, {"tici": None}, {"stenosis_percent": {"@type": "@json"}},
    ]
    if depth < 2:
        options.append([odd_context(rnd, depth + 1) for _ in range(rnd.randint(0, 3))])
    return rnd.choice(options)


def jsonld_doc(rnd: random.Random) -> Any:
    case = json_case(rnd)
    doc = dict(case) if isinstance(case, dict) else {"id": "x", "v": case}
    doc["@context"] = odd_context(rnd)
    if rnd.random() < 0.5:
        doc["@type"] = rnd.choice(["https://w3id.org/guidegraph/ontology#Case", "Case", "@json",
                                   "", "_:b", ["Case", 1]])
    if rnd.random() < 0.2:
        doc["@graph"] = [dict(doc)]
    if rnd.random() < 0.1:
        doc["@reverse"] = {"x": {"@id": "http://example.org/y"}}
    return doc


@settings(FUZZ, max_examples=2000, derandomize=True)
@given(SOURCE)
def test_fuzz_jsonld(rnd: random.Random) -> None:
    check(dumps(jsonld_doc(rnd)), rnd.choice([".json", ".jsonld"]))
