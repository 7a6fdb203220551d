"""Command-line entry point (``guidegraph``).

Kept import-cheap: commands import rdflib/pyshacl etc. inside their function
bodies so that ``guidegraph --help`` and ``--version`` stay fast.

Exit codes: 0 ok; 1 ran but a check failed; 2 bad input or configuration;
3 not implemented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from guidegraph import __version__

if TYPE_CHECKING:
    from guidegraph.reasoner import Reasoner


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="guidegraph")
def main() -> None:
    """Derive applicable guideline recommendations for a patient case."""


_REASON_FORMATS = ["text", "json", "ndjson", "turtle", "jsonld", "ntriples"]


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"guidegraph: {message}", err=True)
    raise SystemExit(code)


def _load_reasoner(guidelines: tuple[str, ...], engine: str) -> Reasoner:
    from pathlib import Path

    from guidegraph.errors import GuidegraphError
    from guidegraph.reasoner import Reasoner

    try:
        return Reasoner.from_paths([Path(g) for g in guidelines] or None, engine=engine)
    except GuidegraphError as exc:
        _fail(str(exc), exc.exit_code)
    except FileNotFoundError as exc:
        _fail(str(exc))


def _read_cases(reasoner: Reasoner, paths: tuple[str, ...]) -> tuple[list, list]:
    """All cases from the inputs, and the input errors (reported, never fatal to the rest)."""
    import sys
    from pathlib import Path

    from guidegraph.errors import CaseInputError

    cases, errors = [], []
    for name in paths:
        if name == "-":
            items = reasoner.intake.read_bytes(sys.stdin.buffer.read(), ".json", source="<stdin>")
        elif not Path(name).exists():
            items = [CaseInputError("no such file or folder", source=name)]
        else:
            items = reasoner.intake.read(Path(name))
        for item in items:
            (errors if isinstance(item, CaseInputError) else cases).append(item)
    return cases, errors


@main.command()
@click.argument("cases", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(_REASON_FORMATS), default="text",
              show_default=True,
              help="Output format: text for people; json (BRIEF §4; a list for batches); ndjson "
                   "(one compact result per line); turtle, jsonld, ntriples (PROV-O record).")
@click.option("--engine", type=click.Choice(["compiled", "sparql"]), default="compiled",
              show_default=True, help="Criterion evaluation: compiled plan or SPARQL reference.")
@click.option("--guideline", "guidelines", multiple=True, metavar="PATH",
              help="Guideline folder or file to use instead of the shipped ones (repeatable).")
def reason(cases: tuple[str, ...], fmt: str, engine: str, guidelines: tuple[str, ...]) -> None:
    """Derive the recommendations that apply to CASES (JSON, JSON-LD, Turtle, list, folder, -)."""
    import json

    from guidegraph import provenance
    from guidegraph.result import render_text

    reasoner = _load_reasoner(guidelines, engine)
    found, errors = _read_cases(reasoner, cases)
    for error in errors:
        click.echo(f"guidegraph: {error}", err=True)
    results = [reasoner.reason(case) for case in found]
    batch = len(found) + len(errors) > 1
    if results:
        if fmt == "json" and not batch:
            click.echo(json.dumps(results[0].to_json(), indent=2, ensure_ascii=False))
        elif fmt == "json":
            click.echo("[\n" + ",\n".join(r.to_json_text() for r in results) + "\n]")
        elif fmt == "ndjson":
            click.echo("\n".join(r.to_json_text() for r in results))
        elif fmt == "text":
            click.echo("\n".join(render_text(r) for r in results), nl=False)
        else:
            nt = "".join(provenance.to_ntriples(r, reasoner) for r in results)
            click.echo(provenance.serialize_ntriples(nt, fmt), nl=False)
    if errors:
        raise SystemExit(2)


@main.command()
@click.argument("case", required=False)
@click.option("--rec", "rec_id", metavar="ID", help="Explain only this recommendation.")
@click.option("--provenance", "prov_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Explain a saved run (Turtle or N-Triples from reason --format turtle).")
@click.option("--guideline", "guidelines", multiple=True, metavar="PATH",
              help="Guideline folder or file to use instead of the shipped ones (repeatable).")
def explain(case: str | None, rec_id: str | None, prov_file: str | None,
            guidelines: tuple[str, ...]) -> None:
    """Why and why-not for every recommendation (or --rec ID), from the run's provenance."""
    from pathlib import Path

    import pyoxigraph as ox

    from guidegraph import provenance
    from guidegraph.explain import render_explanation

    reasoner = _load_reasoner(guidelines, "compiled")
    if prov_file:
        path = Path(prov_file)
        fmt = ox.RdfFormat.N_TRIPLES if path.suffix == ".nt" else ox.RdfFormat.TURTLE
        try:
            triples = [q.triple for q in ox.parse(path=str(path), format=fmt)]
            results = [provenance.from_triples(triples, reasoner)]
        except (OSError, SyntaxError, ValueError, KeyError) as exc:
            _fail(f"{prov_file}: not a readable guidegraph run: {exc}")
    else:
        if case is None:
            _fail("give a CASE file or --provenance FILE")
        found, errors = _read_cases(reasoner, (case,))
        for error in errors:
            click.echo(f"guidegraph: {error}", err=True)
        if errors:
            raise SystemExit(2)
        results = [provenance.from_triples(provenance.to_triples(reasoner.reason(c), reasoner),
                                           reasoner) for c in found]
    if rec_id is not None and not any(r.id == rec_id for res in results
                                      for r in res.all_outcomes()):
        known = sorted(s.id for s in reasoner.recommendations)
        _fail(f"--rec {rec_id!r}: no such recommendation; known: {', '.join(known)}")
    click.echo("\n".join(render_explanation(r, reasoner, rec_id) for r in results), nl=False)


@main.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "turtle"]),
    default="text",
    show_default=True,
    help="Report format; turtle is the SHACL validation report graph.",
)
@click.option("--no-owl", is_flag=True, help="Skip the OWL consistency check (HermiT, needs Java).")
def validate_command(paths: tuple[str, ...], output_format: str, no_owl: bool) -> None:
    """Check guideline files before publishing (default: every guideline).

    Runs the authoring SHACL shapes, the algorithm flow check and OWL consistency.
    Exit 0 conforms (warnings allowed), 1 violations found, 2 unreadable input.
    """
    from pathlib import Path

    from guidegraph.errors import GuidegraphError
    from guidegraph.validate import validate

    try:
        report = validate([Path(p) for p in paths] or None, hermit=not no_owl)
    except GuidegraphError as exc:
        click.echo(f"guidegraph validate: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    if output_format == "json":
        click.echo(report.to_json_text(), nl=False)
    elif output_format == "turtle":
        click.echo(report.to_turtle(), nl=False)
    else:
        click.echo(report.to_text(), nl=False)
    raise SystemExit(0 if report.conforms else 1)
