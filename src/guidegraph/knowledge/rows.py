"""Fast reading of large SELECT results: rows of plain Python values.

Turning each result term into a Python object costs microseconds; compiling a guideline of
ten thousand recommendations reads hundreds of thousands of terms. Serializing the results
to SPARQL TSV in native code and splitting the text is several times faster.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import pyoxigraph as ox

from guidegraph.vocab import RDF_LANG_STRING, XSD, XSD_STRING

_ESCAPE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))')
_SIMPLE = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'",
           "\\": "\\"}


@dataclass(frozen=True)
class Lit:
    """A literal's lexical form and datatype IRI."""

    value: str
    datatype: str = XSD_STRING


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def sub(m: re.Match) -> str:
        if m.group(1) or m.group(2):
            return chr(int(m.group(1) or m.group(2), 16))
        return _SIMPLE.get(m.group(3), m.group(3))

    return _ESCAPE.sub(sub, text)


#: IRIs and literals up to this length are interned: a plan repeats its notations, grades
#: and IRIs thousands of times, and one object each keeps it (and its pickle) small.
_SHORT = 80
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d*\.\d+")


def _term(cell: str) -> str | Lit | None:
    if not cell:
        return None
    first = cell[0]
    if first == "<":
        return sys.intern(cell[1:-1])
    if first == '"':
        end = cell.rfind('"')
        lexical = cell[1:end]
        if "\\" in lexical:
            lexical = _unescape(lexical)
        if len(lexical) <= _SHORT:
            lexical = sys.intern(lexical)
        rest = cell[end + 1:]
        if not rest:
            return Lit(lexical)
        if rest.startswith("^^<"):
            return Lit(lexical, rest[3:-1])
        return Lit(lexical, RDF_LANG_STRING)
    if cell.startswith("_:"):
        return cell
    # Numbers and booleans may be written bare in TSV.
    if cell in ("true", "false"):
        return Lit(cell, XSD + "boolean")
    if _INTEGER.fullmatch(cell):
        return Lit(cell, XSD + "integer")
    if _DECIMAL.fullmatch(cell):
        return Lit(cell, XSD + "decimal")
    return Lit(cell, XSD + "double")


def select_rows(solutions: ox.QuerySolutions) -> list[dict[str, str | Lit | None]]:
    """Rows of a SELECT result as dicts: IRIs as str, literals as Lit, unbound as None."""
    return tsv_rows(solutions.serialize(format=ox.QueryResultsFormat.TSV))


def tsv_rows(data: bytes) -> list[dict[str, str | Lit | None]]:
    """Rows of a SELECT result serialized as SPARQL TSV (its header names the variables).

    A large result repeats few distinct cells (the same kinds, facts, sections and IRIs in
    many rows), so each distinct cell is turned into a value once and shared.
    """
    header, _, body = data.decode("utf-8").partition("\n")
    names = [name[1:] for name in header.split("\t")] if header else []
    value = _Cells().__getitem__
    return [dict(zip(names, map(value, line.split("\t")), strict=True))
            for line in body.split("\n") if line]


class _Cells(dict):
    """Each distinct TSV cell's value, made on its first lookup."""

    def __missing__(self, cell: str) -> str | Lit | None:
        value = self[cell] = _term(cell)
        return value


def text(value: str | Lit | None) -> str | None:
    """The IRI or the lexical form."""
    if value is None:
        return None
    return value.value if isinstance(value, Lit) else value
