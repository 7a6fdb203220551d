"""The SERVICE / LOAD / FROM property test, end to end: generated spellings (the generator of
tests/hardening/test_query_guard.py) sent to a live endpoint (queries to /sparql, updates to
/update with the token) and to `guidegraph query`. Every one is refused with 400 / exit 2 by
the guard, the same texts without the clause are answered, and the loopback canary sees zero
requests."""

from __future__ import annotations

import random
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.store.sparql import statement_form
from tests.canary import Canary
from tests.hardening.test_query_guard import _query

from .conftest import Server, _copy


def _post(url: str, field: str, text: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=urllib.parse.urlencode({field: text}).encode(),
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_every_spelling_is_refused_by_the_live_endpoint(token_server: Server,
                                                        canary: Canary) -> None:
    rng = random.Random(20261202)
    for _ in range(150):
        unsafe, safe = _query(rng, canary.url)
        if statement_form(unsafe) == "UPDATE":
            status, body = _post(token_server.url + "/update", "update", unsafe, "secret")
        else:
            status, body = _post(token_server.sparql, "query", unsafe)
            safe_status, safe_body = _post(token_server.sparql, "query", safe)
            assert safe_status == 200, (safe, safe_body[:300])
        assert status == 400, (unsafe, body[:300])
        assert body.startswith("query refused:"), (unsafe, body[:300])
    assert canary.requests == []


def test_every_spelling_is_refused_by_the_command_line(loaded_store: Path,
                                                       canary: Canary) -> None:
    store = _copy(loaded_store, "guard-cli")
    rng = random.Random(1202)
    tried = 0
    while tried < 12:
        unsafe, safe = _query(rng, canary.url)
        if statement_form(unsafe) == "UPDATE":
            continue
        tried += 1
        for text, code in ((unsafe, 2), (safe, 0)):
            # in process (the command still evaluates in its confined worker process)
            done = CliRunner().invoke(main, ["query", text, "--store", str(store)])
            assert done.exit_code == code, (text, done.stderr[-300:])
            if code:
                assert done.stderr.startswith("guidegraph: query refused:"), done.stderr
                assert done.stdout == ""
    assert canary.requests == []
