"""What the OpenAPI document says of each route: its request body, every status it can answer,
each in its API's format, and the `Allow` header of a 405.

Litestar derives a handler's schema from its signature; the API handlers read their bodies
themselves (to answer bad input in each API's own format), so their operations are described
here from each `Endpoint`'s `body`, `media_types` and `statuses` and its dialect's
`error_schema`. Where two APIs share a path, the body and error schemas are an `anyOf`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)

from emulator.apis.base import Endpoint

# What every API route can answer, whatever the endpoint (SPEC section 6).
COMMON: dict[int, str] = {
    400: "Malformed JSON, a wrong type or a missing field",
    401: "Missing or wrong credentials",
    404: "No such node, thread or section",
    405: "Another method: `Allow` lists this path's",
    413: "A body over 1 MiB",
    500: "The node's model could not answer (e.g. a replay miss), or an injected fault",
}
METERED: dict[int, str] = {
    429: "The node's `rate_limit`, or an injected 429 (`Retry-After`)",
    503: "An injected fault (`faults: [{status: 503}]`)",
}
EXTRA: dict[int, str] = {
    304: "`If-None-Match` already holds the current ETag",
    406: "`Accept` names no format this section has",
    409: "This idempotency key was used with another body or endpoint",
}
ALLOW_TEXT = "The methods this path answers"
ALLOW = {"Allow": {"description": ALLOW_TEXT, "schema": {"type": "string"}}}


def one_of(schemas: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """One schema, or an anyOf of distinct ones (a body valid for both APIs is not an error)."""
    distinct = [s for i, s in enumerate(schemas) if s not in schemas[:i]]
    return distinct[0] if len(distinct) == 1 else {"anyOf": distinct}


def responses(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """Every status the endpoints of one path and method can answer."""
    errors = one_of([e.dialect.error_schema for e in endpoints])
    media = dict.fromkeys(m for e in endpoints for m in e.media_types)
    described: dict[str, Any] = {
        "200": {"description": "The reply", "content": {m: {"schema": {}} for m in media}}
    }
    statuses = dict(COMMON)
    if any(e.metered for e in endpoints):
        statuses |= METERED
    statuses |= {s: EXTRA[s] for e in endpoints for s in e.statuses}
    for status in sorted(statuses):
        entry: dict[str, Any] = {"description": statuses[status]}
        if status != 304:
            entry["content"] = {"application/json": {"schema": errors}}
        if status == 405:
            entry["headers"] = ALLOW
        described[str(status)] = entry
    if any(e.metered for e in endpoints):
        described["default"] = {
            "description": "Any other status a configured fault injects, in the API's format",
            "content": {"application/json": {"schema": errors}},
        }
    return described


def request_body(endpoints: Sequence[Endpoint]) -> dict[str, Any] | None:
    bodies = [e.body for e in endpoints if e.body is not None]
    if not bodies:
        return None
    return {"required": True, "content": {"application/json": {"schema": one_of(bodies)}}}


def operation_class(endpoints: Sequence[Endpoint]) -> type[Operation]:
    """An Operation that describes these endpoints' body and responses."""
    body = request_body(endpoints)
    answers = responses(endpoints)

    class Documented(Operation):
        def __init__(self, **fields: Any) -> None:
            super().__init__(**fields)
            # Plain JSON Schema dicts: Litestar's serializer passes dicts through as they are.
            self.responses = answers
            self.request_body = body  # type: ignore[assignment]

    return Documented


CONTROL: dict[int, str] = {
    401: "A control token is set and this request does not carry it",
    403: "A Host that does not name this server, or a cross-site state change",
    405: COMMON[405],
}
CONTROL_PARAMS = {404: "No such node or thread"}
CONTROL_WRITES = {
    400: "A body that cannot be read",
    413: "A body over the size cap",
    422: "The body is not valid: each error with its message (and line, column)",
}


def control_operation(methods: Sequence[str], has_params: bool) -> type[Operation]:
    """An Operation for a route the API table does not describe (the control plane, the
    console): Litestar's own description, plus every status the guards and lookups add, and a
    405 with its `Allow` header."""
    statuses = dict(CONTROL)
    if has_params:
        statuses |= CONTROL_PARAMS
    if any(m in ("PUT", "POST", "PATCH") for m in methods):
        statuses |= CONTROL_WRITES
    allow = OpenAPIHeader(description=ALLOW_TEXT, schema=Schema(type=OpenAPIType.STRING))
    extra = {
        str(status): OpenAPIResponse(
            description=text, headers={"Allow": allow} if status == 405 else None
        )
        for status, text in sorted(statuses.items())
    }

    class Documented(Operation):
        def __init__(self, **fields: Any) -> None:
            super().__init__(**fields)
            self.responses = {**(self.responses or {}), **extra}

    return Documented
