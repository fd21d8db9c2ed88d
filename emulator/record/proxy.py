"""The recording proxy: one catch-all Litestar route that forwards every request to the upstream
and streams the answer back chunk by chunk as it arrives, while a `TurnRecording` reads the
chat calls' replies on the side.

API-agnostic: the `Transcriber` says what a chat call is and how its reply reads; the dialect
shapes the proxy's own errors (413, 502, 504) like the API's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

import anyio
import msgspec
from litestar import Litestar, Request, Response, route
from litestar.enums import HttpMethod
from litestar.response import Stream

from emulator.apis.base import parse_json, read_body
from emulator.apis.stopping import next_or_stop
from emulator.core.errors import (
    EmulatorError,
    InvalidRequest,
    PayloadTooLarge,
    ServerStopping,
    UpstreamUnavailable,
)
from emulator.core.seams import Clock, SystemClock
from emulator.record.recorder import Recorder, TurnRecording, credentials
from emulator.record.transcript import ChatCall, Transcriber
from emulator.record.upstream import Upstream, UpstreamRequest, UpstreamResponse

log = logging.getLogger("emulator")

# RFC 9110 section 7.6.1: these describe one connection, not the message; never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set again for the next hop: the body is re-framed, and the upstream is asked for identity
# encoding so the recorder can read what it relays.
REQUEST_DROPPED = frozenset({"host", "content-length", "accept-encoding"})
RESPONSE_DROPPED = frozenset({"content-length", "content-encoding"})


class ErrorFormat(Protocol):
    def error(self, exc: EmulatorError) -> Response[Any]: ...


class Proxy(msgspec.Struct):
    """Everything one `emulator record` forwards with."""

    upstream: Upstream
    base_url: str  # the upstream URL, which may end in a base path
    transcriber: Transcriber
    errors: ErrorFormat  # the API's dialect
    recorder: Recorder
    clock: Clock = msgspec.field(default_factory=SystemClock)

    async def handle(self, request: Request[Any, Any, Any]) -> Response[Any]:
        started = self.clock.monotonic()
        raw_path, query = _target(request)
        label = f"{request.method} {raw_path}"
        try:
            body = await read_body(request)
        except (PayloadTooLarge, InvalidRequest) as exc:  # too big, or a bad Content-Length
            log.warning("%s: %s; not forwarded", label, exc.message)
            return self._error(request, exc)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
        call = self._chat_call(request, headers, body, label)
        url = self.base_url + raw_path + (f"?{query}" if query else "")
        try:
            response = await self.upstream.send(
                UpstreamRequest(request.method, url, forwarded(headers), body)
            )
        except UpstreamUnavailable as exc:
            log.warning("%s: %s (answered %d)", label, exc.message, exc.status)
            return self._error(request, exc)
        recording = None
        if call is not None and 200 <= response.status < 300:
            reader = self.transcriber.reader(call, _lowered(response.headers))
            recording = self.recorder.start(call, reader, credentials(headers))
        elif call is not None:
            log.info("%s: not recorded: the upstream answered %d", label, response.status)
        return Stream(
            self._relay(response, recording, started, label),
            status_code=response.status,
            headers=returned(response.headers),
        )

    def _chat_call(
        self,
        request: Request[Any, Any, Any],
        headers: list[tuple[str, str]],
        body: bytes,
        label: str,
    ) -> ChatCall | None:
        if not self.transcriber.is_chat(request.method, request.url.path):
            return None
        call = self.transcriber.chat_call(_lowered(headers), parse_json(body))
        if call is None:
            log.info("%s: not recorded: the body is not a chat message (forwarded as is)", label)
        return call

    async def _relay(
        self,
        response: UpstreamResponse,
        recording: TurnRecording | None,
        started: float,
        label: str,
    ) -> AsyncIterator[bytes]:
        """The upstream's body, each chunk passed on as soon as it is read; at its end, the
        turn is saved before the caller's response ends."""
        ended = False
        chunks = aiter(response.chunks())
        try:
            while True:
                try:
                    chunk = await next_or_stop(chunks)
                except StopAsyncIteration:
                    break
                if recording is not None:
                    recording.feed(chunk, self._ms(started))
                yield chunk
            ended = True
        except ServerStopping:  # Ctrl-C: end the caller's stream now; the turn is incomplete
            ended = True
            _skip(recording, label, "the recorder stopped before the reply ended")
            recording = None
        except UpstreamUnavailable as exc:
            ended = True
            _skip(recording, label, f"the upstream broke off: {exc.message}")
            recording = None
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
            if not ended:
                _skip(recording, label, "the caller hung up before the reply ended")
        if recording is not None:
            outcome = recording.finish(self._ms(started))
            if outcome.turn is None:
                _skip(recording, label, outcome.problem or "the reply is incomplete")
            else:
                await self.recorder.save(outcome.turn, outcome.conversation_id)

    def _ms(self, started: float) -> int:
        return round((self.clock.monotonic() - started) * 1000)

    def _error(self, request: Request[Any, Any, Any], exc: EmulatorError) -> Response[Any]:
        response = self.errors.error(exc)
        response.headers["X-Emulator-Error"] = json.dumps(exc.message)[1:-1]  # ASCII, one line
        sent = request.headers.get("x-request-id")
        if sent:
            response.headers["X-Request-Id"] = sent
        return response


def _skip(recording: TurnRecording | None, label: str, why: str) -> None:
    if recording is not None:
        log.info("%s: not recorded: %s", label, why)


def _lowered(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _target(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """The path as the caller wrote it (percent-escapes kept) and the query string."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw.decode("latin-1").partition("?")[0]
    return path, request.scope.get("query_string", b"").decode("latin-1")


def forwarded(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The caller's headers as the upstream gets them: credentials included, hop-by-hop gone."""
    pairs = list(headers)
    dropped = HOP_BY_HOP | REQUEST_DROPPED | _connection_named(pairs)
    kept = tuple((name, value) for name, value in pairs if name.lower() not in dropped)
    return (*kept, ("accept-encoding", "identity"))


def returned(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The upstream's headers as the caller gets them. A repeated header is joined with ", "
    (Litestar responses hold one value per name; the chat APIs repeat none)."""
    pairs = list(headers)
    dropped = HOP_BY_HOP | RESPONSE_DROPPED | _connection_named(pairs)
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key not in dropped:
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _connection_named(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Headers that `Connection` names are hop-by-hop too."""
    named = (
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    )
    return frozenset(token for token in named if token)


def build_proxy(proxy: Proxy) -> Litestar:
    """The proxy app: every method on every path goes to the upstream."""

    @route(["/", "/{path:path}"], http_method=list(HttpMethod), status_code=200)
    async def forward(request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            return await proxy.handle(request)
        except Exception:
            log.exception("unexpected error forwarding %s %s", request.method, request.url.path)
            return proxy.errors.error(EmulatorError("Internal server error"))

    async def close_upstream() -> None:
        await proxy.upstream.aclose()

    return Litestar(
        route_handlers=[forward],
        openapi_config=None,  # no /schema: every path belongs to the upstream
        request_max_body_size=None,  # capped by the proxy, to answer in the API's format
        on_shutdown=[close_upstream],
        logging_config=None,  # the CLI's: one plain line per event
    )


__all__ = ["Proxy", "build_proxy", "forwarded", "returned"]
