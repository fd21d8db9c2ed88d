"""`/_emulator/nodes/{alias}/overrides`: a node's faults, latency and rate limit at runtime."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, put
from litestar.openapi import ResponseSpec

from emulator.apis.base import read_body
from emulator.config.errors import ConfigError
from emulator.config.model import Node
from emulator.config.overrides import MAX_OVERRIDE_BYTES, parse_override
from emulator.core.engine import Engine
from emulator.core.errors import EmulatorError, NotFound
from emulator.core.overrides import NO_OVERRIDE

PATH = "/nodes/{alias:str}/overrides"
SHAPE = (
    '`{"faults": [...], "latency": {first_token_ms, tokens_per_second, jitter, delay_ms} | null,'
    ' "rate_limit": {requests, per_seconds} | null}`'
)


def _node(request: Request[Any, Any, Any]) -> tuple[Engine, Node]:
    engine: Engine = request.app.state.engine
    alias = request.path_params["alias"]
    node = engine.config.nodes.get(alias)
    if node is None:
        raise NotFound(f"Node '{alias}' not found")
    return engine, node


def _error(error: EmulatorError) -> Response[Any]:
    return Response(
        {"error": {"code": error.code, "message": error.message}}, status_code=error.status
    )


NOT_FOUND = ResponseSpec(
    dict[str, Any], description='`{"error": {"code": "not_found", "message"}}`: no such node'
)
REJECTED = ResponseSpec(
    dict[str, Any],
    description='`{"errors": [{"message", "file", "line", "column"}]}`, as nodes.yaml reports'
    " them, with the line and column in the body",
)


@get(
    PATH,
    summary="A node's runtime overrides",
    response_description=SHAPE,
    responses={404: NOT_FOUND},
)
async def get_overrides(request: Request[Any, Any, Any]) -> Response[Any]:
    try:
        engine, node = _node(request)
    except NotFound as exc:
        return _error(exc)
    return Response(engine.overrides.get(node.alias).to_dict())


@put(
    PATH,
    summary="Replace a node's runtime overrides",
    description=f"Body: {SHAPE}, each block with the keys and checks of nodes.yaml (a missing"
    " key counts as empty or null). Override faults are tried before the node's own and count"
    " afresh; an override latency (`delay_ms`: a stall before the first byte) or rate limit"
    " replaces the node's. Cleared by `POST /_emulator/reset`; kept across config reloads"
    " while the node exists.",
    response_description="The overrides as stored",
    responses={404: NOT_FOUND, 422: REJECTED},
    status_code=200,
)
async def put_overrides(request: Request[Any, Any, Any]) -> Response[Any]:
    try:
        engine, node = _node(request)
        body = await read_body(request, MAX_OVERRIDE_BYTES)
    except EmulatorError as exc:
        return _error(exc)
    try:
        override = parse_override(body)
    except ConfigError as exc:
        return Response({"errors": exc.as_dicts()}, status_code=422)
    engine.override(node.alias, override)
    return Response(override.to_dict())


@delete(
    PATH,
    summary="Clear a node's runtime overrides",
    response_description="The overrides, now empty",
    responses={404: NOT_FOUND},
    status_code=200,
)
async def delete_overrides(request: Request[Any, Any, Any]) -> Response[Any]:
    try:
        engine, node = _node(request)
    except NotFound as exc:
        return _error(exc)
    engine.override(node.alias, NO_OVERRIDE)
    return Response(NO_OVERRIDE.to_dict())


HANDLERS = [get_overrides, put_overrides, delete_overrides]
