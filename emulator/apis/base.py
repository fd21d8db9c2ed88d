"""What every API package provides, and the one dispatcher that serves them all.

An API is a `Dialect` (how it names nodes and credentials, how its errors look) plus a list of
`Endpoint`s. Several APIs may claim one path (POST /chat): the dispatcher resolves the node
first, then the node's `api` picks the endpoint (SPEC section 5).
"""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import msgspec
from litestar import Request, Response
from litestar.response import Stream

from emulator.apis.stopping import unless_stopped
from emulator.config.model import Config, Node
from emulator.core.engine import Engine, fingerprint
from emulator.core.errors import (
    EmulatorError,
    InvalidRequest,
    ModelError,
    NodeNotFound,
    PayloadTooLarge,
)
from emulator.core.requestlog import CAPTURE_STATE, Capture
from emulator.core.routing import Hints, NoNodeForCredential

log = logging.getLogger("emulator")

MAX_BODY_BYTES = 1024 * 1024
HUNG_UP = "client disconnected prematurely"  # Litestar's words, kept


class Malformed:
    """Stands for a body that is not valid JSON."""

    def __repr__(self) -> str:
        return "<malformed JSON>"


MALFORMED = Malformed()


class Call(msgspec.Struct, frozen=True):
    """Everything a handler needs about one request, with the node already resolved."""

    request: Request[Any, Any, Any]
    engine: Engine
    config: Config  # the config this request started with, kept to its end
    node: Node
    body: bytes
    json: Any  # the parsed body, or MALFORMED
    request_id: str
    # When the request arrived (the engine clock's monotonic time), after any `delay_ms`
    # stall: latency is counted from here (Engine.events, Engine.wait_for_reply).
    arrived: float | None = None

    def fingerprint(self) -> str:
        """What makes two requests under one idempotency key "the same": the endpoint, as
        written (whichever way the node was addressed), and the parsed body, so whitespace and
        key order do not count. See `idempotency_conflict` for how it reads back."""
        path = self.request.url.path
        alias = self.request.path_params.get("alias")
        if alias is not None:
            path = path.removeprefix(f"/nodes/{alias}")
        canonical = json.dumps(self.json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return f"{self.request.method} {path} {fingerprint(canonical)}"

    def header(self, name: str) -> str | None:
        return header(self.request, name.lower())


Handler = Callable[[Call], Awaitable[Response[Any]]]


class Dialect(ABC):
    """How one hosted API names nodes and credentials and shapes its errors."""

    name: ClassVar[str]
    error_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}  # its error body, for OpenAPI

    @abstractmethod
    def credential(self, request: Request[Any, Any, Any]) -> str | None:
        """The caller's key or token, as this API sends it."""

    def api_id(self, request: Request[Any, Any, Any]) -> str | None:
        """The API's own node id (a slug in the path, an agent id header), if it has one."""
        return None

    def resembles(self, body: Any, request: Request[Any, Any, Any]) -> int:
        """How much a request looks like this API's; decides shared routes and error formats."""
        return 0

    @abstractmethod
    def error(self, exc: EmulatorError) -> Response[Any]:
        """The API's own error response for `exc`."""


class Endpoint(msgspec.Struct, frozen=True):
    dialect: Dialect
    handler: Handler
    metered: bool = True  # counts against the node's `rate_limit` (reads like /chit do not)
    # For the OpenAPI document only: the JSON body's schema, the success media types and the
    # statuses this endpoint answers beyond those every endpoint can (emulator/apis/openapi.py).
    body: Mapping[str, Any] | None = None
    media_types: tuple[str, ...] = ("application/json",)
    statuses: tuple[int, ...] = ()


def header(request: Request[Any, Any, Any], name: str) -> str | None:
    """The request's first `name` header (`name` in lower case), or None.

    Read from a dict made once per request: Litestar's `request.headers` looks up its scope
    state and a multidict on every access, and a chat turn reads a dozen headers.
    """
    state = request.scope.setdefault("state", {})
    headers: dict[str, str] | None = state.get(_HEADERS)
    if headers is None:
        headers = state[_HEADERS] = {}
        for raw_name, raw_value in request.scope["headers"]:
            key = raw_name.decode("latin-1").lower()
            if key not in headers:  # the first of repeated headers, as Litestar's `get` gives
                headers[key] = raw_value.decode("latin-1")
    return headers.get(name)


_HEADERS = "emulator.headers"


def bearer(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, value = (header(request, "authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


async def read_body(request: Request[Any, Any, Any], limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing more than `limit` bytes without reading them all."""
    declared = header(request, "content-length")
    if declared is not None and not declared.strip().isdecimal():
        raise InvalidRequest("Content-Length must be a whole number of bytes")
    if declared is not None and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    receive = request.receive  # as `request.stream()` reads it, without its headers multidict
    capture: Capture | None = request.scope.get("state", {}).get(CAPTURE_STATE)  # request log
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            log.info("%s %s: %s", request.method, request.url.path, HUNG_UP)
            raise InvalidRequest(f"Request body incomplete: {HUNG_UP}")
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        if capture is not None:
            capture.add_request(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


# A \uXXXX escape in the surrogate range: legal JSON syntax, but it may stand alone.
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")


_decode = msgspec.json.Decoder().decode


def parse_json(body: bytes) -> Any:
    """The parsed body, or MALFORMED for anything that is not JSON text a client could mean:
    bad syntax, bytes that are not UTF-8 (raw surrogate bytes included), nesting too deep for
    the parser, integers longer than Python reads (4300 digits), and strings holding a lone
    surrogate (not Unicode: nothing could store or send them back)."""
    try:
        return _decode(body)  # what msgspec accepts, the standard library reads the same way
    except (msgspec.DecodeError, RecursionError):
        pass  # judged below, as before: a BOM, NaN, a huge integer, or truly malformed
    try:
        # Decoded strictly first: `json.loads(bytes)` reads raw surrogate bytes (ED A0 80)
        # with "surrogatepass", which would let a lone surrogate through. JSON is UTF-8.
        text = body.decode("utf-8-sig")
        value = json.loads(text) if text.strip() else MALFORMED
        if _SURROGATE_ESCAPE.search(body):
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeError are ValueErrors
        return MALFORMED


def require_object(call: Call) -> Mapping[str, Any]:
    if isinstance(call.json, Malformed):
        raise InvalidRequest("Request body must be valid JSON")
    if not isinstance(call.json, dict):
        raise InvalidRequest("Request body must be a JSON object")
    return call.json


def required_text(body: Mapping[str, Any], field: str) -> str:
    """A body field that must be a non-blank string."""
    value = body.get(field)
    if value is None:
        raise InvalidRequest(f"'{field}' is required", field=field)
    if not isinstance(value, str):
        raise InvalidRequest(f"'{field}' must be a string", field=field)
    if not value.strip():
        raise InvalidRequest(f"'{field}' must not be empty", field=field)
    return value


def optional_text(body: Mapping[str, Any], field: str) -> str | None:
    """A body field that may be absent or null, else a string; empty counts as absent."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"'{field}' must be a string", field=field)
    return value or None


async def dispatch(
    request: Request[Any, Any, Any],
    endpoints: Sequence[Endpoint],
    engine: Engine,
    dialects: Mapping[str, Dialect],
) -> Response[Any]:
    """Resolve the node, then let its API's endpoint answer; every error in that API's format,
    and `X-RateLimit-*` on every response of a rate-limited node.

    `dialects` are the app's APIs by name (a node's `api` names one).

    The API a request addresses (by path alias, Host, its own id or a key) is known before the
    body is read, so even a 413 is in its format; the body only breaks ties on shared paths."""
    config = engine.config
    state = request.scope.setdefault("state", {})  # facts for the request log to read
    hints = _hints(request, endpoints)
    names = [e.dialect.name for e in endpoints]
    addressed = engine.addressed_api(config, hints, names)
    dialect = dialects.get(addressed or "") or _by_headers(endpoints, request)
    response: Response[Any]
    try:
        body = await read_body(request)
        parsed = parse_json(body)
        ranked = endpoints
        if len(endpoints) > 1 and addressed is not None:  # a shared path: that API first
            ranked = sorted(endpoints, key=lambda e: e.dialect.name != addressed)
            names = [e.dialect.name for e in ranked]
        elif len(endpoints) > 1:  # nothing says which: the one the request most resembles
            ranked = sorted(endpoints, key=lambda e: -e.dialect.resembles(parsed, request))
            dialect = ranked[0].dialect
            names = [e.dialect.name for e in ranked]
        node = engine.resolve(config, hints, names)
        dialect = dialects[node.api]
        endpoint = next((e for e in ranked if e.dialect.name == node.api), None)
        if endpoint is None:
            raise NodeNotFound(f"Node '{node.alias}' does not serve this path", ident=node.alias)
        state["node"], state["api"] = node.alias, node.api
        credential = dialect.credential(request)
        try:
            engine.authenticate(config, node, credential)
            if endpoint.metered:
                engine.admit(node, credential)  # before the body is looked at: a 429 stores nothing
        finally:
            state["quota"] = engine.quota(node, credential)
        arrived: float | None = state.get("arrived")
        if engine.stalls(node):
            await unless_stopped(engine.stall(node))
            arrived = engine.clock.monotonic()  # the stall comes before the latency, not in it
        rid = state.get("request_id", "")
        call = Call(request, engine, config, node, body, parsed, rid, arrived)
        # Ctrl-C: a reply waiting out its latency answers the API's error at once (a node
        # that never waits needs no waking: it is done before the server is)
        handling = endpoint.handler(call)
        response = await (unless_stopped(handling) if engine.may_wait(node) else handling)
        state["streaming"] = isinstance(response, Stream)
    except ModelError as exc:
        # Some APIs' 500 bodies are fixed texts: the header and the log keep the reason.
        log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        response = dialect.error(exc)
        response.headers["X-Emulator-Error"] = json.dumps(exc.message)[1:-1]  # ASCII, one line
    except NoNodeForCredential as exc:
        response = dialects[exc.api].error(exc)
    except EmulatorError as exc:
        response = dialect.error(exc)
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.url.path)
        response = dialect.error(EmulatorError("Internal server error"))
    quota = state.get("quota")
    if quota is not None:
        response.headers.update(quota.headers())
    return response


def _by_headers(endpoints: Sequence[Endpoint], request: Request[Any, Any, Any]) -> Dialect:
    """The dialect the headers alone most resemble (the first of a tie)."""
    return max(endpoints, key=lambda e: e.dialect.resembles(MALFORMED, request)).dialect


def _hints(request: Request[Any, Any, Any], endpoints: Sequence[Endpoint]) -> Hints:
    dialects = [e.dialect for e in endpoints]
    return hints_for(request, dialects, path_alias=request.path_params.get("alias"))


def hints_for(
    request: Request[Any, Any, Any], dialects: Sequence[Dialect], *, path_alias: str | None
) -> Hints:
    """What the request says about its node, read the way `dialects` (first first) read it."""
    ids = ((d.name, d.api_id(request)) for d in dialects)
    api, api_id = next(((name, i) for name, i in ids if i is not None), (None, None))
    # A path alias names the node outright: resolution never reads the credential then.
    credential = (
        None
        if path_alias is not None
        else next((c for d in dialects if (c := d.credential(request))), None)
    )
    return Hints(
        path_alias=path_alias,
        host=header(request, "host"),
        api_id=api_id,
        api_id_api=api,
        credential=credential,
    )
