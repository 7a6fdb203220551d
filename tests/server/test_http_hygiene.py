"""HTTP hygiene of `guidegraph serve`: only the configured Host names are answered (a page on
another name, reached by DNS rebinding, gets 400 and no data), every answer carries the
security headers and no software versions, `?save=` takes only its documented values, and a
whitespace-only update token is refused at start-up."""

from __future__ import annotations

import http.client as httpclient
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

from .conftest import Server, clean_env, start_server, stop_server
from .test_server import http

EXAMPLE = Path(__file__).parents[2] / "examples" / "basilar-icad-failed-evt.json"
QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def _raw(server: Server, path: str, host: str) -> tuple[int, dict[str, str], bytes]:
    """A request with a Host header of our choosing (urllib always sends the URL's)."""
    parsed = urllib.parse.urlsplit(server.url)
    conn = httpclient.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_only_loopback_host_names_are_answered(server: Server) -> None:
    port = urllib.parse.urlsplit(server.url).port
    path = "/sparql?" + urllib.parse.urlencode({"query": QUERY})
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        status, _, _ = _raw(server, path, host)
        assert status == 200, host
    for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1.nip.io:{port}"):
        status, _, body = _raw(server, path, host)
        assert status == 400, host
        assert b'"n"' not in body and b"bindings" not in body
    status, _, body = _raw(server, "/audit", "rebind.example")
    assert status == 400 and b"<table" not in body


def test_a_configured_name_is_answered(tmp_path: Path, loaded_store: Path) -> None:
    import shutil

    store = tmp_path / "store"
    shutil.copytree(loaded_store, store)
    served = start_server(store, tmp_path / "log", "--allowed-host", "guidegraph.internal",
                          "--allowed-host", "127.0.0.1")  # the name the start-up check uses
    try:
        assert _raw(served, "/health", "guidegraph.internal")[0] == 200
        assert _raw(served, "/health", "localhost")[0] == 400  # only the names given
    finally:
        stop_server(served)


def test_every_answer_has_the_security_headers_and_no_versions(server: Server) -> None:
    for url in (server.url + "/health", server.url + "/audit",
                server.sparql + "?" + urllib.parse.urlencode({"query": QUERY}),
                server.url + "/no-such-page"):
        _, headers, _ = http(url)
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert "default-src 'none'" in headers["Content-Security-Policy"], url
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], url
        assert headers["Server"] == "guidegraph", (url, headers["Server"])
        assert "Python" not in headers["Server"] and "Werkzeug" not in headers["Server"]


def test_save_takes_only_documented_values(server: Server) -> None:
    for value in ("on", "TRUE!", "2"):
        status, _, body = http(server.url + "/reason?save=" + urllib.parse.quote(value),
                               data=EXAMPLE.read_bytes(),
                               headers={"Content-Type": "application/json"})
        assert status == 400, value
        assert b"allowed: true, 1, yes, false, 0, no" in body
    status, _, _ = http(server.url + "/reason?save=false", data=EXAMPLE.read_bytes(),
                        headers={"Content-Type": "application/json"})
    assert status == 200


def test_a_whitespace_only_token_is_refused_at_start_up(loaded_store: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "guidegraph", "serve", "--port", "0",
                          "--store", str(loaded_store), "--update-token", "   "],
                         capture_output=True, text=True, env=clean_env(), timeout=60)
    assert res.returncode == 2
    assert "--update-token: a token of only whitespace is not allowed" in res.stderr


def test_a_request_holds_at_most_the_documented_number_of_cases(server: Server) -> None:
    from guidegraph.serve.endpoints import MAX_CASES_PER_REQUEST

    many = "[" + ",".join(f'{{"id":"c{i}"}}' for i in range(MAX_CASES_PER_REQUEST + 1)) + "]"
    status, _, body = http(server.url + "/reason", data=many.encode(),
                           headers={"Content-Type": "application/json"})
    assert status == 413 and len(body) < 1_000
    assert f"allowed: at most {MAX_CASES_PER_REQUEST} per request".encode() in body
    bad = "[" + ",".join(f'{{"id":"c{i}","tici":"9"}}' for i in range(300)) + "]"
    status, _, body = http(server.url + "/reason", data=bad.encode(),
                           headers={"Content-Type": "application/json"})
    doc = json.loads(body)
    assert status == 400 and doc["errors_total"] == 300 and len(doc["errors"]) == 20
