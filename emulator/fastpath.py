"""The chat API's own routes without Litestar's per-request routing and parameter parsing.

A request for exactly one of the API table's paths (`/chat`, or `/nodes/{alias}/chat`), with a
method that path serves, goes straight to its route handler: the same handler object Litestar
registered, the same `Request` class, the same `to_response` (headers, media type, HEAD),
inside Litestar's own exception layer with the handler's exception handlers. Litestar's router
would resolve such a path to that very handler; what is skipped is its route lookup and the
signature model that parses `request` and `alias` for every call. Everything else (other
paths, other methods, trailing slashes, a root path, an invalid Host) goes through Litestar.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from litestar import Litestar, Request, Response
from litestar._asgi.utils import is_valid_host, wrap_in_exception_handler
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.serialization import encode_json
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from emulator.apis.framing import EventStream, JsonReply, send_chunks

NODE_PREFIX = "/nodes/"
Key = tuple[str, str]  # (method, path)


def fast_routes(app: Litestar, paths: Iterable[Key]) -> dict[Key, HTTPRouteHandler]:
    """The route handler of each (method, path) of the API table, where nothing but the handler
    itself runs per request (no guards, hooks, dependencies, cache or custom request class)."""
    wanted = set(paths)
    found: dict[Key, HTTPRouteHandler] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            key = (str(method), route.path)
            if key in wanted and _plain(handler):
                found[key] = handler
    return found


def _plain(handler: HTTPRouteHandler) -> bool:
    return (
        not handler.resolve_guards()
        and handler.resolve_before_request() is None
        and handler.resolve_after_response() is None
        and not handler.resolve_dependencies()
        and not handler.cache
        and handler.resolve_request_class() is Request
        and handler.resolve_return_dto() is None
        and not handler.resolve_response_headers()
        and not handler.resolve_response_cookies()
        and not handler.resolve_type_encoders()
        and handler.background is None
    )


def fast_path(
    litestar_handler: ASGIApp,
    routes: dict[Key, HTTPRouteHandler],
    direct: Mapping[Key, Callable[[Request[Any, Any, Any]], Awaitable[Any]]] | None = None,
) -> ASGIApp:
    """`litestar_handler` (Litestar's exception layer and router), with the API table's own
    paths answered directly.

    `direct` may give a route's call without the handler function's own frame: what the
    handler would await, called with the request (a chat turn's dispatch).

    Litestar's exception layer is entered only when it has something to do: an exception from
    the handler is answered by it (with the handler's exception handlers, as Litestar's router
    would have set them), and so is a reply that is neither plain JSON nor a chat stream. A
    plain reply is sent as is: there is nothing left to fail but the sending itself, which no
    exception handler could answer anyway.
    """
    plain_paths = {path for _, path in routes}
    calls = {key: (handler, (direct or {}).get(key, handler.fn)) for key, handler in routes.items()}
    handled = wrap_in_exception_handler(_answer_with_litestar)
    exception_handlers = {
        handler: handler.resolve_exception_handlers() for handler in routes.values()
    }

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]  # type: ignore[typeddict-item]
        alias = None
        if path.startswith(NODE_PREFIX):
            alias, slash, rest = path[len(NODE_PREFIX) :].partition("/")
            if not (alias and slash):
                alias = None
            else:
                path = "/nodes/{alias:str}/" + rest
        route = calls.get((method, path)) if path in plain_paths or alias else None
        if route is None or scope.get("root_path") or not _valid_host(scope):
            await litestar_handler(scope, receive, send)
            return
        handler, call = route
        scope["path_params"] = {} if alias is None else {"alias": alias}
        scope["route_handler"] = handler
        scope["path_template"] = path
        request: Request[Any, Any, Any] = Request(scope=scope, receive=receive, send=send)
        try:
            data = await call(request)
        except Exception as exc:
            data = _Raised(exc)
        json = _plain_json(data)
        if json is not None:
            start, body = json
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        stream = _plain_stream(data)
        if stream is not None:
            await send(stream)
            await send_chunks(data.iterator, send, receive, data.encoding)
            return
        ScopeState.from_scope(scope).exception_handlers = exception_handlers[handler]
        scope["emulator.answer"] = (request, data)  # type: ignore[typeddict-unknown-key]
        await handled(scope, receive, send)

    return app


class _Raised:
    """An exception the handler raised, for Litestar's exception layer to answer."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def _valid_host(scope: Scope) -> bool:
    """Litestar's router refuses an invalid Host with a 400: leave those to it."""
    for name, value in scope["headers"]:
        if name == b"host":
            return _valid_host_value(value)
    return True


@functools.lru_cache(maxsize=256)
def _valid_host_value(host: bytes) -> bool:
    """Litestar's check (a regex), once per Host value a server sees: clients send the same few."""
    return is_valid_host(host)


async def _answer_with_litestar(scope: Scope, receive: Receive, send: Send) -> None:
    """What the handler gave (or raised), answered as Litestar answers it."""
    handler = scope["route_handler"]
    assert isinstance(handler, HTTPRouteHandler)
    request, data = scope.pop("emulator.answer")  # type: ignore[typeddict-item]
    if isinstance(data, _Raised):
        raise data.exc
    response = await handler.to_response(app=scope["litestar_app"], data=data, request=request)
    await response(scope, receive, send)


def _plain_json(data: Any) -> tuple[Message, bytes] | None:
    """A plain JSON `Response` (a dict or list, no cookies or background task) as the two ASGI
    messages Litestar would send for it: the same body bytes and the same headers in the same
    order (the response's own, lower-cased, then content-type and content-length). Anything
    else is None, for Litestar to answer. A chat turn's reply is one of these: building it
    here skips the per-response header and response objects (about a tenth of a turn)."""
    if type(data) not in _RESPONSES or data.background is not None or data.cookies:
        return None
    content = data.content
    status = data.status_code or 200
    if (
        not isinstance(content, dict | list)
        or data.media_type not in _JSON
        or data.response_type_encoders
        or status < 200
        or status in (204, 304)
    ):
        return None
    body = encode_json(content)
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in data.headers.items()
    ]
    names = {name for name, _ in headers}
    if b"content-type" not in names:
        headers.append((b"content-type", b"application/json"))
    if b"content-length" not in names:
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
    return {"type": "http.response.start", "status": status, "headers": headers}, body


_JSON = (None, MediaType.JSON, "application/json")  # None: the handler's, JSON
_RESPONSES = (Response, JsonReply)


def _plain_stream(data: Any) -> Message | None:
    """The start message of a chat stream (an `EventStream` with its media type, no cookies
    or background task) with the headers Litestar would send: the response's own,
    lower-cased, then the content type (text types with their charset), no length. Its body
    then goes out as `EventStream` sends it (`send_chunks`). None for anything else."""
    if type(data) is not EventStream or data.background is not None or data.cookies:
        return None
    media_type = data.media_type
    status = data.status_code or 200
    if type(media_type) is not str or status < 200 or status in (204, 304):
        return None
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in data.headers.items()
    ]
    if not any(name == b"content-type" for name, _ in headers):
        if media_type.startswith("text/"):
            media_type = f"{media_type}; charset={data.encoding}"
        headers.append((b"content-type", media_type.encode("latin-1")))
    return {"type": "http.response.start", "status": status, "headers": headers}
