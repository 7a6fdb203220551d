"""The collector pause around large builds: off inside, back on after (frozen only when the
caller asks), and a block inside another or begun with the collector off changes nothing
of the outer state."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from guidegraph.gcpause import collector_paused


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    was = gc.isenabled()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


def test_the_block_runs_without_the_collector_and_what_it_built_is_frozen_on_request(
        ) -> None:
    gc.enable()
    gc.unfreeze()
    with collector_paused(freeze=True):
        assert not gc.isenabled()
        built = [[i] for i in range(1000)]
        assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)


def test_without_the_request_nothing_is_frozen() -> None:
    gc.enable()
    gc.unfreeze()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_an_inner_block_leaves_the_collector_off_and_freezes_nothing() -> None:
    gc.enable()
    gc.unfreeze()
    with collector_paused():
        with collector_paused(freeze=True):
            pass
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_block_begun_with_the_collector_off_leaves_it_off() -> None:
    gc.disable()
    gc.unfreeze()
    with collector_paused(freeze=True):
        pass
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_an_error_in_the_block_still_restores_the_collector() -> None:
    gc.enable()
    with pytest.raises(ValueError, match="inside"), collector_paused():
        raise ValueError("inside")
    assert gc.isenabled()


def test_a_block_off_the_main_thread_pauses_nothing() -> None:
    """The switch is the process's: a server's request thread must not stop collection for
    every other thread while it compiles."""
    gc.enable()
    gc.unfreeze()
    seen: list[tuple[bool, int]] = []

    def build() -> None:
        with collector_paused(freeze=True):
            seen.append((gc.isenabled(), gc.get_freeze_count()))

    worker = threading.Thread(target=build)
    worker.start()
    worker.join()
    assert seen == [(True, 0)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
