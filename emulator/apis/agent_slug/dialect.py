"""agent-slug: Bearer keys, the slug in the path, `{"data": null, "error": {...}}` errors.

Names and messages for 400/401/404/429 are the seed's; the seed shows none for 405, 409, 413,
500, 502 and 504, so those are MethodNotAllowedError, ConflictError, PayloadTooLargeError,
InternalServerError, BadGatewayError and GatewayTimeoutError (README, "The agent-slug API").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from litestar import Request, Response

from emulator.apis.base import Dialect, bearer
from emulator.core.errors import (
    EmulatorError,
    IdempotencyConflict,
    InjectedFault,
    InvalidRequest,
    MethodNotAllowed,
    NodeNotFound,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ThreadNotFound,
    Unauthorized,
    UpstreamTimeout,
    UpstreamUnavailable,
)

NAMES: list[tuple[type[EmulatorError] | tuple[type[EmulatorError], ...], str]] = [
    (InvalidRequest, "ValidationError"),
    (Unauthorized, "UnauthorizedError"),
    ((NodeNotFound, ThreadNotFound, NotFound), "NotFoundError"),
    (MethodNotAllowed, "MethodNotAllowedError"),
    (IdempotencyConflict, "ConflictError"),
    (PayloadTooLarge, "PayloadTooLargeError"),
    (RateLimited, "RateLimitError"),
    (UpstreamTimeout, "GatewayTimeoutError"),  # `emulator record` only
    (UpstreamUnavailable, "BadGatewayError"),
]


class AgentSlug(Dialect):
    name = "agent-slug"
    error_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["data", "error"],
        "properties": {
            "data": {"type": "null"},
            "error": {
                "type": "object",
                "required": ["name", "message", "details"],
                "properties": {
                    "name": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            },
        },
    }

    def credential(self, request: Request[Any, Any, Any]) -> str | None:
        return bearer(request)

    def api_id(self, request: Request[Any, Any, Any]) -> str | None:
        slug = request.path_params.get("slug")
        return str(slug) if slug else None

    def error(self, exc: EmulatorError) -> Response[Any]:
        return error_response(exc)


def error_name(exc: EmulatorError) -> str:
    if isinstance(exc, InjectedFault):
        return "RateLimitError" if exc.status == 429 else "InternalServerError"
    return next((name for kind, name in NAMES if isinstance(exc, kind)), "InternalServerError")


def error_message(exc: EmulatorError) -> str:
    if isinstance(exc, Unauthorized):
        return "Invalid or missing API token"
    if isinstance(exc, NodeNotFound) and exc.ident:
        return exc.explain(f"Agent with slug '{exc.ident}' not found")
    if isinstance(exc, ThreadNotFound):
        return f"Conversation '{exc.thread_id}' not found"
    if exc.status >= 500 and not isinstance(exc, InjectedFault | UpstreamUnavailable):
        return "Internal server error"
    return exc.message


def error_envelope(exc: EmulatorError) -> dict[str, Any]:
    return {
        "data": None,
        "error": {"name": error_name(exc), "message": error_message(exc), "details": {}},
    }


def error_response(exc: EmulatorError) -> Response[Any]:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited | InjectedFault) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return Response(error_envelope(exc), status_code=exc.status, headers=headers)


DIALECT = AgentSlug()
