"""What every request handler reads: the configuration, the store, the knowledge chooser and
the audit pages of one application, kept in its ``extensions``."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Response, current_app, request

from guidegraph.serve.responses import plain

if TYPE_CHECKING:
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.serve.backend import Backend
    from guidegraph.serve.config import ServeConfig
    from guidegraph.serve.pages import AuditPages
    from guidegraph.store.versions import KnowledgeSource

EXTENSION = "guidegraph"


@dataclass(frozen=True)
class Service:
    config: ServeConfig
    backend: Backend
    current: Callable[[], tuple[KnowledgeSource, Reasoner]]
    pages: AuditPages
    token_name: str  # who the audit log names for writes with the token
    token: str | None  # None: read-only


def service() -> Service:
    """The service of the application handling this request."""
    return current_app.extensions[EXTENSION]


def authorize(what: str) -> Response | None:
    """None when the request may write; otherwise the refusal to send."""
    token = service().token
    if token is None:
        return plain(403, f"{what} refused: this endpoint is read-only. Start the server "
                          "with --update-token TOKEN (or GUIDEGRAPH_UPDATE_TOKEN) and send "
                          "'Authorization: Bearer TOKEN' to allow writes.")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if not header or scheme.lower() != "bearer":
        response = plain(401, f"{what} needs 'Authorization: Bearer TOKEN' (the update "
                              "token this server was started with).")
        response.headers["WWW-Authenticate"] = 'Bearer realm="guidegraph"'
        return response
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return plain(403, f"{what} refused: the bearer token is not this server's update "
                          "token.")
    return None
