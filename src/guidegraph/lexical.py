"""The one reading of XSD lexical forms into Python values (bool, int, Decimal), for
thresholds in guideline data, fact values in case RDF and values as results show them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from guidegraph.vocab import XSD

#: The value kinds a datatype maps to; any other datatype keeps its lexical form.
KIND_OF = {XSD + "boolean": "boolean", XSD + "integer": "integer", XSD + "decimal": "decimal"}
_NOT_DECIMAL = ("nan", "inf", "infinity", "snan")


def parse_lexical(kind: str, lexical: str) -> Any:
    """The value of ``lexical`` read as ``kind`` (boolean, integer, decimal; any other kind
    keeps the text). Raises ValueError, naming the form, outside the kind's lexical space.

    Decimals accept exponent forms: they are not xsd:decimal forms, but JSON-LD's toRdf
    writes non-integral JSON numbers that way even where the context types them decimal."""
    text = lexical.strip()
    if kind == "boolean":
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(lexical)
    if kind == "integer":
        if not text.lstrip("+-").isdigit():
            raise ValueError(lexical)
        return int(text)
    if kind == "decimal":
        if not text or text.lower().lstrip("+-") in _NOT_DECIMAL:
            raise ValueError(lexical)
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError(lexical) from None
    return lexical


def literal_value(lexical: str, datatype: str) -> Any:
    """A literal's value by its datatype (see :func:`parse_lexical`)."""
    return parse_lexical(KIND_OF.get(datatype, "string"), lexical)
