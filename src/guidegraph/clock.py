"""The one clock: every timestamp guidegraph records (runs, loads, log entries, audits) is
UTC to the microsecond, as xsd:dateTime text, so they sort and compare as written."""

from __future__ import annotations

from datetime import UTC, datetime


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
