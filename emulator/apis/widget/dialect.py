"""widget: `x-api-key` or `x-widget-api-key`; errors are `{"error": "<fixed text>"}`.

400, 401, 429 and 500 carry the seed's exact texts. The seed shows none for 404, 405, 409, 413,
502 and 504: "Not found", "Method not allowed", "Conflict", "Payload too large", "Bad gateway"
and "Gateway timeout" (README; the last two come only from `emulator record`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from litestar import Request, Response

from emulator.apis.base import Dialect, header
from emulator.core.errors import (
    EmulatorError,
    InjectedFault,
    NodeNotFound,
    RateLimited,
    UpstreamUnavailable,
)

TEXTS = {
    400: "Invalid request payload",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    429: "Too many requests",
}
GATEWAY = {502: "Bad gateway", 504: "Gateway timeout"}  # the recording proxy's own errors
INTERNAL = "Internal server error"


class Widget(Dialect):
    name = "widget"
    error_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    }

    def credential(self, request: Request[Any, Any, Any]) -> str | None:
        return header(request, "x-api-key") or header(request, "x-widget-api-key") or None

    def resembles(self, body: Any, request: Request[Any, Any, Any]) -> int:
        widget_key = header(request, "x-widget-api-key") is not None
        score = 2 * widget_key + (header(request, "x-api-key") is not None)
        return score + (3 * ("sessionId" in body) if isinstance(body, dict) else 0)

    def error(self, exc: EmulatorError) -> Response[Any]:
        return error_response(exc)


def error_response(exc: EmulatorError) -> Response[Any]:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited | InjectedFault) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, UpstreamUnavailable):
        text = GATEWAY.get(exc.status, INTERNAL)
    elif isinstance(exc, NodeNotFound) and exc.hint:
        text = f"{TEXTS[404]}. {exc.hint}"  # the seed shows no 404: the hint may follow
    else:
        text = TEXTS.get(exc.status, INTERNAL)
    return Response({"error": text}, status_code=exc.status, headers=headers)


DIALECT = Widget()
