"""interlocute: Bearer credentials and `{"error": {"code", "message"}}` errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from litestar import Request, Response

from emulator.apis.base import Dialect, bearer, header
from emulator.core.errors import EmulatorError, InjectedFault, RateLimited


class Interlocute(Dialect):
    name = "interlocute"
    error_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    }

    def credential(self, request: Request[Any, Any, Any]) -> str | None:
        return bearer(request)

    def resembles(self, body: Any, request: Request[Any, Any, Any]) -> int:
        if isinstance(body, dict):
            return 2 * ("content" in body) + ("threadId" in body)
        return 1 if header(request, "authorization") else 0

    def error(self, exc: EmulatorError) -> Response[Any]:
        return error_response(exc)


def error_response(exc: EmulatorError) -> Response[Any]:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited | InjectedFault) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    code = exc.code
    if isinstance(exc, InjectedFault):
        code = "rate_limited" if exc.status == 429 else "upstream_error"
    return Response(
        {"error": {"code": code, "message": exc.message}},
        status_code=exc.status,
        headers=headers,
    )


DIALECT = Interlocute()
