"""The request log behind GET /_emulator/journal: the last N requests, in memory only.

Not to be confused with `journal.py`, the store's append-only file. An entry says what was asked
and how it was answered (method, path, status, timing, node). Its `Capture` adds the headers
(credentials redacted), the request body and the response body or stream frames, each capped,
for GET /_emulator/journal/{requestId}. Subscribers (GET /_emulator/journal/stream) are handed
each entry once its response is complete.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote_plus

import msgspec

from emulator.core.redaction import is_secret_param

DEFAULT_CAPACITY = 500
CAPTURE_LIMIT = 64 * 1024  # bytes kept of each body (a stream's frames count together)
REDACTED = "[redacted]"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x-widget-api-key"}
    | {"cookie", "set-cookie"}
)
SUBSCRIBER_BACKLOG = 1000  # entries a slow subscriber may fall behind before some are dropped

RawHeaders = Iterable[tuple[bytes, bytes]]
# Where a recorded request's `Capture` waits in the ASGI scope's state, for whatever reads the
# request body (`emulator.apis.base.read_body`) to keep a copy of it.
CAPTURE_STATE = "emulator.capture"


class Capture:
    """What one request sent and got, kept as received and rendered (redacted) when asked.

    Cheap on the request path: it keeps references to the ASGI header lists and body chunks,
    and stops keeping bytes once a body reaches CAPTURE_LIMIT.
    """

    __slots__ = (
        "_request",
        "_request_size",
        "_response",
        "_response_size",
        "query",
        "request_headers",
        "response_headers",
        "started",
    )

    def __init__(self, headers: RawHeaders, query: bytes, started: float) -> None:
        self.request_headers = headers
        self.query = query
        self.started = started
        self.response_headers: RawHeaders = []
        self._request: list[bytes] = []
        self._request_size = 0
        self._response: list[tuple[float, bytes]] = []
        self._response_size = 0

    def add_request(self, chunk: bytes) -> None:
        if chunk and self._request_size < CAPTURE_LIMIT:
            self._request.append(chunk[: CAPTURE_LIMIT - self._request_size])
        self._request_size += len(chunk)

    def add_response(self, chunk: bytes, at: float) -> None:
        """A body chunk sent at monotonic time `at`; for a stream, one frame."""
        if chunk and self._response_size < CAPTURE_LIMIT:
            self._response.append((at, chunk[: CAPTURE_LIMIT - self._response_size]))
        self._response_size += len(chunk)

    def to_dict(self, streaming: bool) -> dict[str, Any]:
        body = b"".join(chunk for _, chunk in self._response)
        frames = [
            {"ms": round((at - self.started) * 1000, 1), "data": _text(chunk)}
            for at, chunk in self._response
        ]
        query = _redact_query(self.query)
        return {
            "request": {
                "headers": _headers(self.request_headers),
                **({"query": query} if query else {}),
                "body": _text(b"".join(self._request)),
                "bodyBytes": self._request_size,
                "truncated": self._request_size > CAPTURE_LIMIT,
            },
            "response": {
                "headers": _headers(self.response_headers),
                "body": None if streaming else _text(body),
                "frames": frames if streaming else None,
                "bodyBytes": self._response_size,
                "truncated": self._response_size > CAPTURE_LIMIT,
            },
        }


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _headers(raw: RawHeaders) -> dict[str, str]:
    """Header names lower-cased, repeats joined with ", ", credentials replaced."""
    out: dict[str, str] = {}
    for name_bytes, value_bytes in raw:
        name = name_bytes.decode("latin-1").lower()
        value = REDACTED if name in SECRET_HEADERS else value_bytes.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _redact_query(query: bytes) -> str:
    """The query string as sent, with the values of credential parameters replaced."""
    parts = []
    for part in query.decode("latin-1").split("&") if query else ():
        name, _, value = part.partition("=")
        secret = is_secret_param(unquote_plus(name), unquote_plus(value))
        parts.append(f"{name}={REDACTED}" if secret else part)
    return "&".join(parts)


class RequestEntry(msgspec.Struct, frozen=True, eq=False):
    """One answered request, recorded when its response started (a frozen msgspec Struct:
    one is made per request). Entries compare by identity: the log holds each one once."""

    request_id: str
    at: str  # when the request arrived, ISO 8601 UTC
    method: str
    path: str  # without the query string
    status: int
    duration_ms: float  # arrival to response start: for a stream, its first byte
    node: str | None = None  # the resolved node's alias; None if no node was resolved
    api: str | None = None
    streaming: bool = False
    capture: Capture | None = None

    def detail(self) -> dict[str, Any]:
        """The entry with what was sent and received (GET /_emulator/journal/{requestId})."""
        captured = self.capture.to_dict(self.streaming) if self.capture is not None else {}
        return {**self.to_dict(), **captured}

    def to_dict(self) -> dict[str, Any]:
        return {
            "requestId": self.request_id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "durationMs": self.duration_ms,
            "node": self.node,
            "api": self.api,
            "streaming": self.streaming,
        }


class RequestLog:
    """A ring buffer of the last `capacity` entries; the oldest is dropped first.

    Used from the one event loop that serves requests, so it needs no lock.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("A request log holds at least one entry")
        self._entries: deque[RequestEntry] = deque(maxlen=capacity)
        self._subscribers: set[asyncio.Queue[RequestEntry | None]] = set()

    @property
    def capacity(self) -> int:
        assert self._entries.maxlen is not None
        return self._entries.maxlen

    def record(self, entry: RequestEntry) -> None:
        self._entries.append(entry)

    def recent(self, limit: int | None = None, node: str | None = None) -> list[RequestEntry]:
        """The last `limit` entries (of `node`, if given), oldest first."""
        entries = [e for e in self._entries if node is None or e.node == node]
        if limit is None:
            return entries
        return entries[-limit:] if limit > 0 else []

    def find(self, request_id: str) -> RequestEntry | None:
        """The newest entry with this request id (a caller may reuse one)."""
        return next((e for e in reversed(self._entries) if e.request_id == request_id), None)

    def clear(self) -> None:
        self._entries.clear()

    def subscribe(self) -> asyncio.Queue[RequestEntry | None]:
        """A queue that receives each entry once its response is complete; None: closing."""
        queue: asyncio.Queue[RequestEntry | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[RequestEntry | None]) -> None:
        self._subscribers.discard(queue)

    def publish(self, entry: RequestEntry) -> None:
        for queue in self._subscribers:
            if not queue.full():  # a subscriber that stopped reading misses entries
                queue.put_nowait(entry)

    def close(self) -> None:
        """Ends every subscription (server shutdown: an open stream must not hold it up)."""
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[RequestEntry]:
        return iter(self._entries)
