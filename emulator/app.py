"""Wires the engine, the four APIs and the control plane into one Litestar app."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

from litestar import Litestar, Request, Response, route
from litestar.datastructures import State
from litestar.enums import HttpMethod, ScopeType
from litestar.events import BaseEventEmitterBackend
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Operation
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from emulator import __version__
from emulator.admission import Admission
from emulator.apis.base import MALFORMED, Dialect, Endpoint, dispatch, hints_for
from emulator.apis.openapi import control_operation, operation_class
from emulator.apis.registry import API_ROUTES
from emulator.config.reloader import Reloader, watch
from emulator.control.console import console_redirect, wants_console
from emulator.control.hosts import HostPolicy
from emulator.control.plane import PREFIX, LazyApp, is_plane_path, neutral_error
from emulator.control.security import Cors, Security, answer_messages
from emulator.core.engine import Engine
from emulator.core.errors import EmulatorError, MethodNotAllowed, NotFound
from emulator.core.requestlog import CAPTURE_STATE, Capture, RequestEntry, RequestLog
from emulator.core.seams import isoformat, random_bytes
from emulator.fastpath import fast_path, fast_routes

EXPOSED_HEADERS = [
    "X-Request-Id",
    "X-Emulator-Generation",
    "X-Conversation-Id",
    "X-Trace-Id",
    "X-Idempotent-Replay",
    "Retry-After",
    "X-Emulator-Error",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]


def build_app(
    engine: Engine,
    *,
    routes: Sequence[tuple[str, str, Endpoint]] = API_ROUTES,
    control_token: str | None = None,
    allowed_hosts: Sequence[str] = (),
    reloader: Reloader | None = None,
    watch_config: bool = False,
    request_log: RequestLog | None = None,
    debug: bool = False,
    configure_root_logger: bool = True,
) -> Litestar:
    """The app for an engine. `control_token`, when set, guards `/_emulator/`.

    The control plane answers only Host values naming this server: its own names and address,
    and `allowed_hosts` (see emulator/control/security.py for every rule).

    `request_log` keeps the recent requests for GET /_emulator/journal (by default the last 500).

    `reloader` reloads the config (POST /_emulator/reload, PUT /_emulator/config); by default
    one for the engine's config path. `watch_config` also reloads it whenever the file changes,
    from app startup to shutdown.

    `configure_root_logger` False leaves the root logger as the host process set it up (an app
    embedded in a test run); Litestar then configures only its own logger.
    """
    table = _group(routes)
    dialects = {endpoint.dialect.name: endpoint.dialect for _, _, endpoint in routes}
    log = RequestLog() if request_log is None else request_log
    reloader = reloader or Reloader(engine, engine.config.path)
    startup, shutdown = _watcher(reloader) if watch_config else ([], [])
    common: dict[str, Any] = {
        "exception_handlers": {HTTPException: _fallback_error(table)},
        "request_max_body_size": None,  # the dispatcher caps bodies itself, in API format
        "event_emitter_backend": NoEvents,
        "debug": debug,
        "logging_config": LoggingConfig(configure_root_logger=configure_root_logger),
    }

    def api_handlers() -> list[Any]:  # each app registers handlers of its own
        return [_handler(path, method, e, engine, dialects) for (method, path), e in table.items()]

    app = Litestar(
        route_handlers=api_handlers(),
        openapi_config=None,  # the control plane's app documents the APIs
        on_startup=startup,
        on_shutdown=shutdown,
        **common,
    )
    app.state.engine = engine
    app.state.dialects = dialects
    app.state.reloader = reloader
    app.state.request_log = log

    def control_app() -> Litestar:
        return _control_app(api_handlers(), app.state, common)

    plane = LazyApp(control_app)
    app.state.control_plane = plane
    # Outermost, around Litestar's own exception layer: route middleware would miss the 404s
    # and 405s Litestar answers before any route matches. One layer for the request id, the
    # security rules (Host, Origin, CSRF, token, CORS) and the request log: its refusals carry
    # an id too.
    security = Security.of(
        hosts=HostPolicy.of(allowed_hosts), token=control_token, exposed_headers=EXPOSED_HEADERS
    )
    direct = {
        (method, form): functools.partial(dispatch, endpoints=eps, engine=engine, dialects=dialects)
        for (method, path), eps in table.items()
        for form in (path, "/nodes/{alias:str}" + path)
    }
    routed = _plane_or(plane, app.asgi_handler)
    fast = fast_path(routed, fast_routes(app, direct), direct)
    app.asgi_handler = _request_middleware(fast, security, engine, log)
    return app


def _control_app(api_handlers: list[Any], state: State, common: dict[str, Any]) -> Litestar:
    """The control plane's app (see emulator/control/plane.py), sharing the main app's state.
    It registers the API handlers too, only for the OpenAPI document: requests for them never
    reach it."""
    from emulator.control.apidocs import OfflineSwagger
    from emulator.control.routes import control_router

    control = Litestar(
        route_handlers=[*api_handlers, control_router()],
        openapi_config=OpenAPIConfig(
            title="chat-api-emulator",
            version=__version__,
            path=PREFIX + "/schema",
            render_plugins=[OfflineSwagger(PREFIX)],
        ),
        **common,
    )
    control.state = state
    _document_405s(control)
    return control


def _plane_or(plane: LazyApp, app: ASGIApp) -> ASGIApp:
    """Requests for the control plane to its app, the others to `app`."""

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and is_plane_path(scope["path"]):
            await plane(scope, receive, send)
        else:
            await app(scope, receive, send)

    return routed


Hook = Callable[[], Coroutine[None, None, None]]


class NoEvents(BaseEventEmitterBackend):
    """Litestar's event emitter for an app without event listeners (this one has none).

    Litestar's default emitter starts an anyio task group as the app starts, which imports
    anyio's asyncio backend: about 25 ms of every start, before the first request is served.
    """

    async def __aenter__(self) -> NoEvents:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def emit(self, event_id: str, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"no listener for Litestar event {event_id!r}: this app has none")


def _document_405s(app: Litestar) -> None:
    """Routes the API table did not describe (the control plane, the console) still document
    every status their guards and lookups add, and a 405 with its Allow header."""
    for app_route in app.routes:
        for handler in getattr(app_route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and handler.operation_class is Operation:
                methods = sorted(str(m) for m in handler.http_methods)
                has_params = "{" in app_route.path
                handler.operation_class = control_operation(methods, has_params)


def _watcher(reloader: Reloader) -> tuple[list[Hook], list[Hook]]:
    """Start and stop hooks for the config watcher task."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        stop.clear()
        # A save made before the watch thread is watching is caught up by its first report.
        tasks.append(asyncio.create_task(watch(reloader, stop), name="config-watcher"))

    async def finish() -> None:
        stop.set()  # the watch thread sees it within one step and returns
        while tasks:
            task = tasks.pop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, timeout=5)

    return [start], [finish]


def _group(
    routes: Sequence[tuple[str, str, Endpoint]],
) -> dict[tuple[str, str], list[Endpoint]]:
    table: dict[tuple[str, str], list[Endpoint]] = {}
    for method, path, endpoint in routes:
        table.setdefault((method, path), []).append(endpoint)
    return table


def _handler(
    path: str,
    method: str,
    endpoints: list[Endpoint],
    engine: Engine,
    dialects: Mapping[str, Dialect],
) -> Any:
    async def handler(request: Request[Any, Any, Any]) -> Response[Any]:
        return await dispatch(request, endpoints, engine, dialects)

    apis = " / ".join(e.dialect.name for e in endpoints)
    # Every GET answers HEAD too: the same status and headers (ETag included), no body.
    methods = [HttpMethod(method), *([HttpMethod.HEAD] if method == "GET" else [])]
    return route(
        [path, "/nodes/{alias:str}" + path],
        http_method=methods,
        status_code=200,
        summary=f"{method} {path} ({apis})",
        tags=[apis],
        operation_class=operation_class(endpoints),
    )(handler)


_NODE_PREFIX = re.compile(r"^/nodes/([^/]+)(/.*)?$")


def _fallback_error(table: dict[tuple[str, str], list[Endpoint]]) -> Any:
    """Unknown routes and wrong methods answer in the format of the API the request addresses
    (path alias, Host, own id, key), else of the only API serving the path (for an unknown
    route: sharing the most leading segments with it), else by its headers; 405s say Allow."""
    routes = [
        (path.strip("/").split("/"), endpoint.dialect)
        for (_, path), endpoints in table.items()
        for endpoint in endpoints
    ]
    dialects = {name: d for _, d in routes for name in [d.name]}

    def candidates(path: str) -> list[Dialect]:
        segments = path.strip("/").split("/")
        best = 0
        names: dict[str, Dialect] = {}
        for pattern, dialect in routes:
            shared = _shared_segments(pattern, segments)
            if len(pattern) == len(segments) == shared:
                shared += 1000  # the path itself is served: that beats any prefix
            if shared > best:
                best, names = shared, {}
            if shared == best and shared > 0:
                names[dialect.name] = dialect
        return list(names.values())

    def handle(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        if exc.status_code == 404 and wants_console(request):
            return console_redirect(PREFIX)
        path = request.url.path
        error = _as_error(request, exc)
        if path == PREFIX or path.startswith(PREFIX + "/"):
            response = neutral_error(error)
            response.headers.update(exc.headers or {})  # a 405's Allow
            return response
        match = _NODE_PREFIX.match(path)
        alias, rest = (match.group(1), match.group(2) or "/") if match else (None, path)
        serving = candidates(rest)
        engine: Engine = request.app.state.engine
        hints = hints_for(request, serving or list(dialects.values()), path_alias=alias)
        addressed = engine.addressed_api(engine.config, hints, [d.name for d in serving])
        if addressed in dialects:
            dialect: Dialect | None = dialects[addressed]
        elif serving:
            dialect = max(serving, key=lambda d: d.resembles(MALFORMED, request))
        else:
            dialect = None
        response = neutral_error(error) if dialect is None else dialect.error(error)
        response.headers.update(exc.headers or {})  # a 405's Allow
        return response

    return handle


def _shared_segments(pattern: list[str], segments: list[str]) -> int:
    shared = 0
    for want, got in zip(pattern, segments, strict=False):
        if want != got and not want.startswith("{"):
            break
        shared += 1
    return shared


def _as_error(request: Request[Any, Any, Any], exc: HTTPException) -> EmulatorError:
    path = request.url.path
    if exc.status_code == 405:
        return MethodNotAllowed(f"Method {request.method} is not allowed on {path}")
    if exc.status_code == 404:
        return NotFound(f"No route for {request.method} {path}")
    error = EmulatorError(str(exc.detail))
    error.status = exc.status_code
    error.code = "unauthorized" if exc.status_code == 401 else "http_error"
    return error


_VISIBLE = re.compile(rb"[\x21-\x7e]+")


def _request_middleware(
    app: ASGIApp, security: Security, engine: Engine, log: RequestLog
) -> ASGIApp:
    """Every HTTP request in one pass: the security rules (emulator/control/security.py) answer
    refusals and preflights at once, and put CORS headers on the app's responses; every
    response carries X-Request-Id (the caller's, if sent) and the config generation.

    Each request outside the control plane is also recorded in the request log when its
    response starts, with what it sent and got (`Capture`), and published once it completes.

    A burst of requests begins a slice per turn of the event loop (emulator/admission.py);
    each notes when it arrived, before it waits, for its latency to count from.
    """
    admission = Admission()

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        arrived = engine.clock.monotonic()
        if not admission.take():
            await admission.enter()
        sent = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                sent = value[:200]  # the last one, if repeated
        # Echoed only if it is visible ASCII: anything else would be a header clients reject.
        rid = sent.decode() if _VISIBLE.fullmatch(sent) else "req_" + random_bytes(12).hex()
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        state["arrived"] = arrived
        recording = _recording(scope, state, engine, log)
        screened = security.screen(scope)
        cors = screened if isinstance(screened, Cors) else None

        # Not a coroutine: it hands back the server's own awaitable, one frame less per message.
        def send_with_id(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                given = message.get("headers", [])
                headers = cors.apply(given) if cors is not None else list(given)
                headers.append((b"x-request-id", rid.encode("latin-1")))
                headers.append(generation_header(engine.generation))
                message = {**message, "headers": headers}
                if recording is not None:
                    recording.start(message["status"], headers)
            elif recording is not None and message["type"] == "http.response.body":
                recording.body(message.get("body", b""), message.get("more_body", False))
            return send(message)

        try:
            if not isinstance(screened, Cors):  # a refusal or a preflight, answered here
                for message in answer_messages(screened):
                    await send_with_id(message)
            else:
                await app(scope, receive, send_with_id)
        finally:
            if recording is not None:
                recording.finish()  # a client that hung up mid-stream still gets its entry out

    return middleware


class _Recording:
    """One request on its way into the request log."""

    __slots__ = ("at", "capture", "engine", "entry", "log", "method", "path", "published", "state")

    def __init__(
        self, scope: HTTPScope, state: dict[str, Any], engine: Engine, log: RequestLog
    ) -> None:
        self.engine = engine
        self.state = state
        self.log = log
        self.path: str = scope["path"]
        self.method: str = scope["method"]
        self.at = isoformat(engine.clock.now())  # when the request arrived
        arrived = state["arrived"]  # when the request came in, before it waited to begin
        self.capture = Capture(scope["headers"], scope["query_string"], arrived)
        state[CAPTURE_STATE] = self.capture  # `read_body` keeps a copy of the body in it
        self.entry: RequestEntry | None = None
        self.published = False

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        state, capture = self.state, self.capture
        capture.response_headers = headers
        self.entry = RequestEntry(
            request_id=state["request_id"],
            at=self.at,
            method=self.method,
            path=self.path,
            status=status,
            duration_ms=round((self.engine.clock.monotonic() - capture.started) * 1000, 1),
            node=state.get("node"),
            api=state.get("api"),
            streaming=bool(state.get("streaming", False)),
            capture=capture,
        )
        self.log.record(self.entry)

    def body(self, chunk: bytes, more: bool) -> None:
        if chunk:
            self.capture.add_response(chunk, self.engine.clock.monotonic())
        if not more:
            self.finish()

    def finish(self) -> None:
        if self.entry is not None and not self.published:
            self.published = True
            self.log.publish(self.entry)


def _recording(
    scope: HTTPScope, state: dict[str, Any], engine: Engine, log: RequestLog
) -> _Recording | None:
    """The recording of this request; None where unrecorded."""
    path: str = scope["path"]
    if path == PREFIX or path.startswith(PREFIX + "/") or scope["method"] == "OPTIONS":
        return None  # the control plane would fill the log with its own polling
    return _Recording(scope, state, engine, log)


@functools.lru_cache(maxsize=4)
def generation_header(generation: int) -> tuple[bytes, bytes]:
    """`X-Emulator-Generation`, made once per config generation, not once per response."""
    return (b"x-emulator-generation", str(generation).encode())
