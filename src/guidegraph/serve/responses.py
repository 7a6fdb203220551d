"""The endpoint's plain-text, HTML and JSON answers: one place for their media types."""

from __future__ import annotations

import json
from typing import Any

from flask import Response


def plain(status: int, message: str) -> Response:
    return Response(message.rstrip("\n") + "\n", status=status,
                    content_type="text/plain; charset=utf-8")


def page(status: int, page: str) -> Response:
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def data(status: int, data: dict[str, Any]) -> Response:
    return Response(json.dumps(data, ensure_ascii=False) + "\n", status=status,
                    content_type="application/json")
