"""The named query library: every ``queries/**/*.rq`` file, found by its file name.

Each file opens with a comment header (``# title:``, ``# purpose:``, ``# bindings:``,
``# example:``) that ``guidegraph query --list`` shows, so the library documents itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from guidegraph import resources


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    title: str
    purpose: str
    bindings: str
    text: str
    #: the variables its ``# bindings:`` header offers for ``--bind`` (required or optional)
    parameters: list[str]


def _parameters(bindings: str | None) -> list[str] | None:
    return None if bindings is None else list(dict.fromkeys(re.findall(r"\?(\w+)", bindings)))


def _header(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        head, sep, rest = body.partition(":")
        if sep and head.strip().lower() in ("title", "purpose", "bindings", "inputs", "example",
                                            "source"):
            key = head.strip().lower()
            fields[key] = rest.strip()
        elif key and body:
            fields[key] += " " + body
    return fields


def library() -> dict[str, NamedQuery]:
    """Named queries by name (the file stem; ``folder/stem`` also resolves)."""
    root = resources.queries_dir()
    out: dict[str, NamedQuery] = {}
    for path in sorted(root.rglob("*.rq")):
        text = path.read_text(encoding="utf-8")
        head = _header(text)
        query = NamedQuery(
            name=path.stem, path=path, title=head.get("title", ""),
            purpose=head.get("purpose", ""),
            bindings=head.get("bindings", head.get("inputs", "")), text=text,
            parameters=_parameters(head.get("bindings")) or [])
        out.setdefault(path.stem, query)
        out[str(path.relative_to(root).with_suffix(""))] = query
    return out


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file; False for text too long to be a file name (one line of
    inline SPARQL), where ``Path.is_file`` raises instead of answering."""
    try:
        return path.is_file()
    except OSError:
        return False


def resolve(spec: str) -> tuple[str, str, list[str] | None]:
    """A query given as a file path, a library name, or inline text: (label, text, and the
    parameters a named query's header offers; None: any variable of the text)."""
    path = Path(spec)
    if spec.endswith(".rq") or (len(spec) < 4096 and "\n" not in spec and _is_file(path)):
        if not path.is_file():
            raise FileNotFoundError(f"{spec}: no such query file")
        text = path.read_text(encoding="utf-8")
        return spec, text, _parameters(_header(text).get("bindings"))
    named = library().get(spec)
    if named is not None:
        return named.name, named.text, named.parameters
    if re.fullmatch(r"[\w./-]+", spec):
        # One word cannot be a SPARQL query: it names a query that does not exist.
        raise FileNotFoundError(f"{spec}: no such named query or query file "
                                "(`guidegraph query --list` shows the named queries)")
    return "inline query", spec, None


def check_bindings(label: str, text: str, parameters: list[str] | None,
                   names: list[str]) -> None:
    """Refuse a ``--bind`` name the query does not take (a typo would run it unrestricted)."""
    from guidegraph.store.sparql import variables

    used = variables(text)
    offered = [p for p in parameters if p in used] if parameters is not None else sorted(used)
    for name in names:
        if name not in offered:
            shown = ", ".join(f"?{p}" for p in offered) or "none"
            raise BindingError(f"--bind {name[:40]}: {label[:60]} has no parameter ?{name[:40]}; "
                               f"its parameters: {shown}")


class BindingError(ValueError):
    """A ``--bind`` name the query does not take."""
