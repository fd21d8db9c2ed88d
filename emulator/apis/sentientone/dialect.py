"""sentientone: `X-Api-Key` + `X-Agent-Id`; errors `{"error": {"code", "message"}, "trace_id"}`.

The seed shows no error body; this one is documented in the README. Every response carries
`X-Trace-Id`, equal to the body's `trace_id`; a 429 also carries `Retry-After`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, ClassVar

from litestar import Request, Response

from emulator.apis.base import Dialect, header
from emulator.core.errors import (
    EmulatorError,
    InjectedFault,
    NodeNotFound,
    RateLimited,
    ThreadNotFound,
)


class Sentientone(Dialect):
    name = "sentientone"
    error_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["error", "trace_id"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "trace_id": {"type": "string"},
        },
    }

    def credential(self, request: Request[Any, Any, Any]) -> str | None:
        return header(request, "x-api-key") or None

    def api_id(self, request: Request[Any, Any, Any]) -> str | None:
        return header(request, "x-agent-id") or None

    def resembles(self, body: Any, request: Request[Any, Any, Any]) -> int:
        # Widget sends X-Api-Key too: on its own (before the body is read: a 413, a 405) it
        # says widget, which names no agent; with a body, it counts unless the body has a
        # widget's sessionId.
        score = 3 * (header(request, "x-agent-id") is not None)
        if not isinstance(body, dict):
            return score
        keyed = header(request, "x-api-key") is not None and "sessionId" not in body
        return score + 2 * ("conversation_id" in body) + keyed

    def error(self, exc: EmulatorError) -> Response[Any]:
        return error_response(exc)


def new_trace_id() -> str:
    return "trc_" + secrets.token_hex(16)


def error_code(exc: EmulatorError) -> str:
    if isinstance(exc, NodeNotFound):
        return "agent_not_found"
    if isinstance(exc, ThreadNotFound):
        return "conversation_not_found"
    if isinstance(exc, InjectedFault):
        return "rate_limited" if exc.status == 429 else "upstream_error"
    return exc.code


def error_message(exc: EmulatorError) -> str:
    if isinstance(exc, NodeNotFound):
        if exc.ident:
            return exc.explain(f"Agent '{exc.ident}' not found")
        return "No agent matches this request; send X-Agent-Id"
    if isinstance(exc, ThreadNotFound):
        return f"Conversation '{exc.thread_id}' not found"
    return exc.message


def error_body(exc: EmulatorError, trace_id: str) -> dict[str, Any]:
    return {"error": {"code": error_code(exc), "message": error_message(exc)}, "trace_id": trace_id}


def error_response(exc: EmulatorError) -> Response[Any]:
    trace_id = new_trace_id()
    headers = {"X-Trace-Id": trace_id}
    if isinstance(exc, RateLimited | InjectedFault) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return Response(error_body(exc, trace_id), status_code=exc.status, headers=headers)


DIALECT = Sentientone()
