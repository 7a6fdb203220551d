"""Command-line entry point (``guidegraph``).

Kept import-cheap: commands import rdflib/pyshacl etc. inside their function
bodies so that ``guidegraph --help`` and ``--version`` stay fast.

Exit codes: 0 ok; 1 ran but a check failed; 2 bad input or configuration;
3 not implemented.
"""

from __future__ import annotations

import click

from guidegraph import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="guidegraph")
def main() -> None:
    """Derive applicable guideline recommendations for a patient case."""
