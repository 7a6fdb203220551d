"""Progress bars for long commands: on stderr when it is a terminal, silent otherwise.

click prints a hidden bar's label once to a file or pipe; these bars print nothing there,
so logs, pipes and captured output carry only what the command reports."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


def shown() -> bool:
    """Whether progress would be seen: stderr is a terminal."""
    return sys.stderr.isatty()


def bar(label: str, items: Sequence[Any] | None = None, *, length: int | None = None,
        least: int = 2) -> ProgressBar[Any]:
    """A bar over ``items`` (or ``length`` steps); hidden unless stderr is a terminal and
    there are at least ``least`` steps (one case is no batch worth a bar)."""
    steps = length if length is not None else len(items or ())
    visible = steps >= least and shown()
    return click.progressbar(items, length=length, label=label, file=sys.stderr,
                             hidden=not visible, item_show_func=_name)


@contextmanager
def stages(label: str, names: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """A bar over named stages, for work that reports each stage as it starts: yields that
    callback; the bar counts the stages finished and names the running one."""
    with bar(label, length=len(names)) as shown:
        def start(name: str) -> None:
            if shown.current_item is None:  # the first: none finished (update(0) draws none)
                shown.current_item = name
                shown.render_progress()
            else:
                shown.update(1, name)

        yield start
        shown.update(1, "")


def _name(item: Any) -> str | None:
    """The running stage's name after the bar (items that are not names show nothing)."""
    return item or None if isinstance(item, str) else None
