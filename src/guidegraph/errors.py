"""Typed errors with the CLI exit code they map to.

Commands catch :class:`GuidegraphError` once, print its message on stderr and exit
with its ``exit_code``, so exit codes stay a published contract (0 ok, 1 a check
failed, 2 bad input or configuration, 3 not implemented) rather than ad-hoc choices.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CaseInputError", "ConfigurationError", "GraphLoadError", "GuidegraphError"]


class GuidegraphError(Exception):
    """Base of all errors guidegraph reports to users; carries the CLI exit code."""

    exit_code: int = 2


class GraphLoadError(GuidegraphError):
    """An RDF file could not be read or is not valid RDF (bad input: exit code 2)."""

    exit_code = 2

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


class CaseInputError(GuidegraphError):
    """A case is malformed: the message names the case, the key, the value and what is allowed."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        case: str | None = None,
        key: str | None = None,
        value: object = None,
        allowed: str | None = None,
        source: str | None = None,
    ) -> None:
        self.case = case
        self.key = key
        self.value = value
        self.allowed = allowed
        self.source = source
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        prefix = ""
        if self.source:
            prefix += f"{self.source}: "
        if self.case:
            prefix += f"case {self.case!r}: "
        return prefix + self.message


class ConfigurationError(GuidegraphError):
    """The knowledge (ontology, guidelines, contracts) cannot be used as configured."""

    exit_code = 2
