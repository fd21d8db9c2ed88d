"""The control plane under /_emulator/: health, nodes, threads, journal, reset.

Never claimed by a node.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.openapi import ResponseSpec
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from emulator.apis.base import read_body
from emulator.apis.registry import node_base, node_urls
from emulator.config.fixtures import dump_fixture
from emulator.config.loader import MAX_CONFIG_BYTES
from emulator.config.reloader import Reloader
from emulator.control.apidocs import assets_router
from emulator.control.console import console_router
from emulator.control.export import thread_fixture
from emulator.control.once import OnceRouter
from emulator.control.overrides import HANDLERS as override_handlers
from emulator.control.plane import PREFIX, neutral_error
from emulator.control.snippets import snippets
from emulator.core.engine import Engine
from emulator.core.errors import InvalidRequest, NotFound, PayloadTooLarge
from emulator.core.records import MessageRecord, ThreadRecord
from emulator.core.requestlog import RequestLog
from emulator.core.seams import isoformat

DEFAULT_JOURNAL_LIMIT = 100
NOT_FOUND = ResponseSpec(
    dict[str, Any], description='`{"error": {"code": "not_found", "message"}}`'
)
PING_SECONDS = 15.0  # keeps an idle journal stream open through proxies


def _engine(request: Request[Any, Any, Any]) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


@get("/health", summary="Liveness, config generation, the last config and store errors")
async def health(request: Request[Any, Any, Any]) -> dict[str, Any]:
    engine = _engine(request)
    store_error = engine.store.write_error
    healthy = engine.config_error is None and store_error is None
    return {
        "status": "ok" if healthy else "degraded",
        "generation": engine.generation,
        # The last write's failure (a full disk), until a write succeeds again.
        "store": {"error": store_error},
        "config": {
            "path": engine.config.path,
            "loadedAt": isoformat(engine.loaded_at),
            "error": engine.config_error,
        },
        "version": request.app.openapi_config.version if request.app.openapi_config else None,
        "uptimeSeconds": round((engine.clock.now() - engine.started_at).total_seconds(), 3),
    }


@get(
    "/nodes",
    summary="Every node",
    description="Each node with its API, model, the URLs it answers on (the path form"
    " `http://HOST:PORT/nodes/ALIAS/...` first, then the `ALIAS.localhost` form) and its"
    ' `credentials`: `{"apiKeys": [...], "jwt": bool, "anonymous": bool}`.',
    response_description='`{"nodes": [{"alias", "api", "name", "description", "model",'
    ' "anonymous", "urls", "credentials"}]}`',
)
async def nodes(request: Request[Any, Any, Any]) -> dict[str, Any]:
    engine = _engine(request)
    host, port = _where(request)
    return {
        "nodes": [
            {
                "alias": node.alias,
                "api": node.api,
                "name": node.name,
                "description": node.description,
                "model": {"name": node.model.name, "kind": node.model.kind},
                "anonymous": node.auth.anonymous,
                "urls": node_urls(node, host, port),
                "credentials": {
                    "apiKeys": list(node.auth.api_keys),
                    "jwt": node.auth.jwt is not None,
                    "anonymous": node.auth.anonymous,
                },
            }
            for node in engine.config.nodes.values()
        ]
    }


@get(
    "/nodes/{alias:str}/snippets",
    summary="Client snippets for one node",
    description="Ready-to-run cURL, JavaScript `fetch` (with a stream reader) and Python"
    " `requests` snippets for the node's API: the API documentation's own snippets where it"
    " prints them, with the base URL swapped for the node's path-form URL and the key for a"
    " credential that opens the node (its first key, else a JWT signed with its secret).",
    response_description='`{"snippets": [{"id", "title", "language": "shell" | "javascript" |'
    ' "python", "code"}]}`; 404 for an unknown node',
    responses={404: NOT_FOUND},
)
async def node_snippets(request: Request[Any, Any, Any]) -> Response[Any]:
    alias = request.path_params["alias"]
    node = _engine(request).config.nodes.get(alias)
    if node is None:
        return neutral_error(NotFound(f"Node '{alias}' not found"))
    base = node_base(node, *_where(request))
    return Response({"snippets": [s.to_dict() for s in snippets(node, base)]})


def _where(request: Request[Any, Any, Any]) -> tuple[str, int]:
    """The host and port this request reached, for the URLs shown to the caller."""
    host, _, port = (request.headers.get("host") or "127.0.0.1:80").rpartition(":")
    return _base_host(host), int(port) if port.isdigit() else 80


@get("/threads", summary="Stored threads, optionally of one node (?node=alias)")
async def threads(request: Request[Any, Any, Any]) -> dict[str, Any]:
    engine = _engine(request)
    node = request.query_params.get("node")
    return {
        "threads": [
            {**_thread(t), "messageCount": engine.store.message_count(t.id)}
            for t in engine.store.list_threads(node)
        ]
    }


@get("/threads/{thread_id:str}", summary="One thread with every message")
async def thread(request: Request[Any, Any, Any]) -> Response[Any]:
    engine = _engine(request)
    thread_id = request.path_params["thread_id"]
    record = engine.store.get_thread(thread_id)
    if record is None:
        return neutral_error(NotFound(f"Thread '{thread_id}' not found"))
    messages = [_message(m) for m in engine.store.messages(thread_id)]
    return Response({**_thread(record), "messages": messages})


@get(
    "/threads/{thread_id:str}/fixture",
    summary="One thread as a replay fixture (YAML), to save under the fixtures directory",
)
async def thread_as_fixture(request: Request[Any, Any, Any]) -> Response[Any]:
    engine = _engine(request)
    thread_id = request.path_params["thread_id"]
    record = engine.store.get_thread(thread_id)
    if record is None:
        return neutral_error(NotFound(f"Thread '{thread_id}' not found"))
    fixture = thread_fixture(
        record, engine.store.messages(thread_id), engine.config.nodes.get(record.node)
    )
    header = f"Exported from thread {thread_id} of node '{record.node}'."
    return Response(
        dump_fixture(fixture, header),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{thread_id}.yaml"'},
    )


@delete("/threads/{thread_id:str}", summary="Delete a thread and its messages", status_code=200)
async def delete_thread(request: Request[Any, Any, Any]) -> Response[Any]:
    thread_id = request.path_params["thread_id"]
    if not _engine(request).store.delete_thread(thread_id):
        return neutral_error(NotFound(f"Thread '{thread_id}' not found"))
    return Response(None, status_code=204)


@get(
    "/journal",
    summary="Recent requests, oldest first (?limit=N, default 100; ?node=alias)",
)
async def journal(request: Request[Any, Any, Any]) -> Response[Any]:
    log = _request_log(request)
    try:
        limit = _limit(request.query_params.get("limit"), log.capacity)
    except InvalidRequest as exc:
        return neutral_error(exc)
    entries = log.recent(limit, request.query_params.get("node"))
    return Response({"capacity": log.capacity, "entries": [e.to_dict() for e in entries]})


@get(
    "/journal/stream",
    summary="The journal, live (server-sent events)",
    description="One `event: request` whose `data:` is the journal entry (as in"
    " `GET /_emulator/journal`) for each request to a node as it completes, and a `: ping`"
    " comment every 15 s. Control-plane calls are not journaled.",
    response_description="`text/event-stream`, open until the client or the server closes it",
    media_type="text/event-stream",
)
async def journal_stream(request: Request[Any, Any, Any]) -> ServerSentEvent:
    log = _request_log(request)
    queue = log.subscribe()

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        try:
            # Sends the headers at once, so a client knows it is subscribed.
            yield ServerSentEventMessage(comment="connected", data=None, sep="\n")
            while True:
                try:
                    entry = await asyncio.wait_for(queue.get(), PING_SECONDS)
                except TimeoutError:
                    yield ServerSentEventMessage(comment="ping", data=None, sep="\n")
                    continue
                if entry is None:  # the server is shutting down
                    return
                yield ServerSentEventMessage(
                    event="request", data=json.dumps(entry.to_dict()), sep="\n"
                )
        finally:
            log.unsubscribe(queue)

    return ServerSentEvent(events(), headers={"Cache-Control": "no-cache"})


@get(
    "/journal/{request_id:str}",
    summary="One journal entry, with what was sent and answered",
    description="The entry plus `request` (`headers`, credentials redacted; `query`, with"
    " `api_key` and the like redacted; `body`) and `response` (`headers`; `body`, or for a"
    ' stream `frames`: `[{"ms", "data"}]`, ms since the request arrived). Each body keeps'
    " its first 64 KiB (`truncated`, `bodyBytes`).",
    response_description="The entry with `request` and `response`; 404 when the journal no"
    " longer holds it",
    responses={404: NOT_FOUND},
)
async def journal_entry(request: Request[Any, Any, Any]) -> Response[Any]:
    request_id = request.path_params["request_id"]
    entry = _request_log(request).find(request_id)
    if entry is None:
        return neutral_error(NotFound(f"No journal entry for request '{request_id}'"))
    return Response(entry.detail())


@post(
    "/reset",
    summary="Forget every thread, idempotency record, journal entry, rate-limit bucket, fault"
    " counter and runtime override",
    status_code=200,
)
async def reset(request: Request[Any, Any, Any]) -> dict[str, Any]:
    engine = _engine(request)
    engine.store.reset()
    engine.limiter.reset()
    engine.faults.reset()
    engine.overrides.clear()
    _request_log(request).clear()
    return {"status": "reset"}


@post(
    "/reload", summary="Reload the config file now; the result says what changed", status_code=200
)
async def reload(request: Request[Any, Any, Any]) -> dict[str, Any]:
    reloader: Reloader = request.app.state.reloader
    return (await reloader.reload()).to_dict()


@get(
    "/config",
    summary="The running config and its last error",
    description="Where the running config came from (a file, or `<PUT /_emulator/config>`), its"
    " generation and load time, its YAML text (a file as it is now: with a pending error, the"
    " text the error is about; `null` if unreadable) and the last reload error.",
    response_description='`{"path", "generation", "loadedAt", "text", "error": null |'
    ' {"message", "file", "line", "column"}, "errors": [...]}`',
)
async def get_config(request: Request[Any, Any, Any]) -> dict[str, Any]:
    engine = _engine(request)
    reloader: Reloader = request.app.state.reloader
    errors = reloader.last_error.as_dicts() if reloader.last_error is not None else []
    return {
        "path": engine.config.path,
        "generation": engine.generation,
        "loadedAt": isoformat(engine.loaded_at),
        "text": await reloader.source_text(),
        "error": errors[0] if errors else None,
        "errors": errors,
    }


@put(
    "/config",
    summary="Apply a whole nodes.yaml sent as the body (422 with the errors if it is invalid)",
    response_description='What changed: `{"applied", "generation", "changes", "error", "errors"}`',
    responses={
        422: ResponseSpec(
            dict[str, Any],
            description='`{"errors": [{"message", "file", "line", "column"}]}`; nothing changes',
        )
    },
    status_code=200,
)
async def put_config(request: Request[Any, Any, Any]) -> Response[Any]:
    reloader: Reloader = request.app.state.reloader
    try:  # read no more than the cap: a 100 MB body is refused after its first MiB
        body = await read_body(request, MAX_CONFIG_BYTES)
    except PayloadTooLarge:
        message = (
            f"The config is larger than {MAX_CONFIG_BYTES:,} bytes (1 MiB), the most "
            "PUT /_emulator/config accepts"
        )
        return neutral_error(PayloadTooLarge(message))
    except InvalidRequest as exc:
        return neutral_error(exc)
    result = await reloader.apply_text(body)
    if result.error is not None:
        return Response({"errors": result.error.as_dicts()}, status_code=422)
    return Response(result.to_dict())


def _request_log(request: Request[Any, Any, Any]) -> RequestLog:
    log: RequestLog = request.app.state.request_log
    return log


def _limit(text: str | None, capacity: int) -> int:
    """?limit: a whole number from 1 to the journal's capacity; by default 100 (or fewer)."""
    if text is None:
        return min(DEFAULT_JOURNAL_LIMIT, capacity)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= capacity:
        raise InvalidRequest(f"limit must be a whole number from 1 to {capacity}", field="limit")
    return int(text)


def _thread(record: ThreadRecord) -> dict[str, Any]:
    data = {"id": record.id, "node": record.node, "api": record.api, "createdAt": record.created_at}
    if record.session is not None:
        data["sessionId"] = record.session
    return data


def _message(record: MessageRecord) -> dict[str, Any]:
    extra = {k: v for k, v in record.extra.items() if v is not None}  # a fresh record per read
    return {
        "id": record.id,
        "role": record.role,
        "content": record.content,
        "createdAt": record.created_at,
        **extra,
    }


def _base_host(host: str) -> str:
    name = host.strip("[]") or "127.0.0.1"
    return "localhost" if name.endswith(".localhost") else name


def control_router() -> OnceRouter:
    """The /_emulator router. Its Host, Origin, CSRF and token rules are enforced around the whole
    app, by emulator/control/security.py, so they cover the schema and the console too."""
    return OnceRouter(
        PREFIX,
        route_handlers=[
            health,
            nodes,
            node_snippets,
            *override_handlers,
            threads,
            thread,
            thread_as_fixture,
            delete_thread,
            journal,
            journal_stream,
            journal_entry,
            reset,
            reload,
            get_config,
            put_config,
            console_router(),
            assets_router(),
        ],
        tags=["control plane"],
    )
