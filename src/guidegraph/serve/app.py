"""``guidegraph serve``: a SPARQL 1.1 Protocol endpoint, the reasoner over HTTP, health.

Paths: ``GET|POST /sparql`` (queries; without a query, the service description),
``POST /update`` (refused unless an update token is configured), ``POST /reason`` (a case
in, the result contract out), ``GET /health``, and the audit pages ``GET /audit`` and
``GET /audit/run?iri=…`` (:mod:`guidegraph.serve.pages`).

Safe by default: bound to 127.0.0.1, read-only, every query under a time limit and a row
cap. Embedded-store work runs in a worker process that is killed when a query overruns
(see :mod:`guidegraph.store.worker`); a remote engine gets the time limit as its HTTP
timeout. The server is werkzeug's threaded development server, fine for a local endpoint;
production deployments run :func:`create_app` under a WSGI server behind a proxy.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import sys
from typing import Any

from flask import Flask, Response, url_for

from guidegraph.serve import endpoints, protocol
from guidegraph.serve.backend import Backend, knowledge_chooser
from guidegraph.serve.config import SECURITY_HEADERS, ServeConfig, loopback
from guidegraph.serve.pages import AuditPages
from guidegraph.serve.responses import plain
from guidegraph.serve.service import EXTENSION, Service

MAX_BODY = 64 * 1024 * 1024
MAX_FORM = 500_000  # werkzeug's default for url-encoded form data held in memory
#: Every route: (rule, endpoint name, handler, methods)
ROUTES = [
    ("/sparql", "sparql", protocol.sparql, ["GET", "POST"]),
    ("/update", "update", protocol.update, ["POST"]),
    ("/reason", "reason", endpoints.reason, ["POST"]),
    ("/", "landing", endpoints.landing, ["GET"]),
    ("/health", "health", endpoints.health, ["GET"]),
    ("/audit", "audit_summary", endpoints.audit_summary, ["GET"]),
    ("/audit/run", "audit_run", endpoints.audit_run, ["GET"]),
]


def create_app(config: ServeConfig, backend: Backend | None = None) -> Flask:
    """The WSGI application (run it under any WSGI server; ``serve`` uses werkzeug's)."""
    backend = backend or Backend(config)
    current = knowledge_chooser(backend.store)
    current()  # the knowledge is checked (and compiled) before the first request
    token_name, token = split_token(config.update_token) if config.update_token else (
        "", None)
    app = Flask("guidegraph")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_FORM
    app.config["TRUSTED_HOSTS"] = config.trusted_hosts()  # Flask answers 400 to others
    app.extensions[EXTENSION] = Service(config, backend, current,
                                        AuditPages(backend.store, current, url_for),
                                        token_name, token)
    for rule, name, handler, methods in ROUTES:
        app.add_url_rule(rule, name, handler, methods=methods)
    app.register_error_handler(413, _too_large)
    app.after_request(_security_headers)
    return app


def _too_large(_exc: Exception) -> Response:
    return plain(413, f"request too large: a body holds at most {MAX_BODY // 2**20} MB, "
                      f"and form fields at most {MAX_FORM // 1000} KB; send a large query "
                      "as application/sparql-query (an update as application/sparql-update)")


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


#: The name a token without one is logged under
DEFAULT_TOKEN_NAME = "update-token"
_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def split_token(value: str) -> tuple[str, str]:
    """``NAME:SECRET`` into its name (what the audit log records as the writer) and secret
    (never logged); a value without a colon is a secret named ``update-token``."""
    name, sep, secret = value.partition(":")
    if not sep:
        name, secret = DEFAULT_TOKEN_NAME, value
    if not _TOKEN_NAME.fullmatch(name):
        raise ValueError(f"--update-token: the name {name[:40]!r} is not allowed; allowed: "
                         "NAME:SECRET with a NAME of 1 to 64 letters, digits and . _ @ - "
                         "(starting with a letter or digit), or a SECRET alone")
    if not secret.strip():
        raise ValueError(f"--update-token: the secret of {name!r} is blank; allowed: a "
                         "non-blank secret after NAME:")
    return name, secret


# ----------------------------------------------------------------------------------------
# Running it
# ----------------------------------------------------------------------------------------
def _check_port(host: str, port: int) -> None:
    """Raise OSError (as binding would) when ``host:port`` cannot be listened on."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        probe.bind((host.strip("[]"), port))


def serve(config: ServeConfig) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then stop the store worker."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        """No software versions in the Server header."""

        def version_string(self) -> str:
            return "guidegraph"

    _check_port(config.host, config.port)  # before the worker starts: fail fast and clearly
    backend = Backend(config)
    try:
        app = create_app(config, backend)
        server = make_server(config.host, config.port, app, threaded=True,
                             request_handler=Handler)
    except SystemExit:  # werkzeug exits when the port was taken since the check
        backend.close()
        raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE)) from None
    except BaseException:
        backend.close()
        raise

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    mode = "read-only" if not config.update_token else "updates need the token"
    print(f"guidegraph: SPARQL endpoint http://{config.host}:{server.port}/sparql ({mode}); "
          f"store {backend.location}", file=sys.stderr, flush=True)
    if not loopback(config.host):
        print(f"guidegraph: warning: listening on {config.host}, beyond this machine",
              file=sys.stderr, flush=True)
    if config.trusted_hosts() is None:
        print("guidegraph: warning: any Host header is accepted on a wildcard address; give "
              "--allowed-host NAME for each name clients use", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        backend.close()
