"""What one connection may hold, and what the access log may show.

uvicorn closes a keep-alive connection left idle after a response, but not a connection that
never sends a byte, nor one that sends half a request and stops: enough of those use up every
file descriptor and no other client gets in. `Limits` bounds all three, and the number of
connections served at once; `limited_protocol` applies them to uvicorn's httptools protocol.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from weakref import WeakKeyDictionary

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from emulator.core.redaction import is_secret_param

KEEP_ALIVE_SECONDS = 5
REQUEST_READ_SECONDS = 30
RESERVED_DESCRIPTORS = 100  # for the store, the config watcher, logs and the listening socket


def connection_cap() -> int:
    """How many connections are served at once: the open-file limit less some for the server's
    own files, so a crowd of clients is answered 503 instead of leaving none for anyone."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(32, min(10_000, soft - RESERVED_DESCRIPTORS))


class Limits(msgspec.Struct, frozen=True):
    """`keep_alive`: seconds a connection may sit idle, before its first request or between
    requests. `request_read`: seconds from a request's first byte to its last (the headers and
    the whole body). `max_connections`: connections served at once; beyond it, uvicorn answers
    503 at once. The defaults are documented in the README."""

    keep_alive: float = KEEP_ALIVE_SECONDS
    request_read: float = REQUEST_READ_SECONDS
    max_connections: int | None = None  # None: connection_cap()

    def cap(self) -> int:
        return self.max_connections if self.max_connections is not None else connection_cap()


ACCEPT_BATCH = 64  # connections one new connection may take in after it


def _settled(task: asyncio.Task[Any]) -> None:
    """A connection taken in by `_accept_waiting` that failed to open (the client hung up at
    once) is as if it never came: no "exception never retrieved" in the log."""
    if not task.cancelled():
        task.exception()


def limited_protocol(limits: Limits) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, closing connections idle or slow beyond `limits` (uvicorn's
    `timeout_keep_alive` must be `limits.keep_alive` too: it times the idle gaps after a
    response).

    A request being read notes when it began; a sweep of the server's connections, a few times
    per `request_read` while any are open, closes those that took too long. One timer per server
    instead of one per request: arming and cancelling a timer was 2 us of every request.
    """
    sweep_every = min(1.0, limits.request_read / 4)
    sweeps: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.TimerHandle] = WeakKeyDictionary()

    def sweep(loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        """`connections`: uvicorn's set of the server's open connections."""
        now = loop.time()
        for connection in list(connections):
            since = getattr(connection, "reading_since", None)
            if since is not None and now - since > limits.request_read:
                connection.reading_since = None
                connection.read_too_slow()
        if connections:
            sweeps[loop] = loop.call_later(sweep_every, sweep, loop, connections)
        else:
            sweeps.pop(loop, None)  # the next connection starts the sweep again

    class LimitedProtocol(HttpToolsProtocol):
        reading_since: float | None = None  # loop time of the first byte of a request being read
        taken_in_together = False  # accepted by `_accept_waiting`, not by libuv

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            listeners: list[socket.socket] | None = getattr(self.server_state, "listeners", None)
            if listeners:
                self._accept_waiting(listeners)
            # Idle from the start: uvicorn only arms this after a first response.
            self.timeout_keep_alive_task = self.loop.call_later(
                limits.keep_alive, self.timeout_keep_alive_handler
            )
            if self.loop not in sweeps:
                sweeps[self.loop] = self.loop.call_later(
                    sweep_every, sweep, self.loop, self.connections
                )

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.reading_since = self.loop.time()

        def on_message_complete(self) -> None:
            self.reading_since = None
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self.reading_since = None
            super().connection_lost(exc)

        def eof_received(self) -> bool:  # type: ignore[override]
            # A client may half-close once its whole request is sent (`shutdown(SHUT_WR)`,
            # `nc -N`): keep the connection open for writing so it still gets its answer,
            # also from a handler that awaits (a worker thread, latency). An idle connection,
            # or one whose request is incomplete, closes as before.
            cycle = self.cycle
            return bool(cycle is not None and not cycle.more_body and not cycle.response_complete)

        def _accept_waiting(self, listeners: list[socket.socket]) -> None:
            """Accept the connections already waiting behind this one.

            libuv accepts one connection per turn of the event loop, so 32 clients that connect
            at once were taken in over 32 turns, each as long as all the requests of the
            connections taken in before: the last one's first request waited 80 ms. A turn
            that takes in one connection now takes in all that wait (up to `ACCEPT_BATCH` per
            listener; each of those takes in the next ones), each on its own transport, as
            uvloop would make it.
            """
            for listener in listeners:
                for _ in range(ACCEPT_BATCH):
                    try:
                        conn, _ = listener.accept()
                    except OSError:  # none waiting (BlockingIOError), or the server closed it
                        break
                    accepted = self.loop.connect_accepted_socket(self._sibling, conn)
                    self.loop.create_task(accepted).add_done_callback(_settled)

        def _sibling(self) -> LimitedProtocol:
            protocol = LimitedProtocol(
                config=self.config,
                server_state=self.server_state,
                app_state=self.app_state,
                _loop=self.loop,
            )
            protocol.taken_in_together = True
            return protocol

        def _unsupported_upgrade_warning(self) -> None:
            # No API speaks WebSocket (uvicorn runs with ws="none"): an Upgrade request is
            # answered as the plain HTTP request it also is. uvicorn would log two warnings,
            # one telling the user to install a WebSocket library.
            self.logger.debug("ignoring a request to upgrade the connection (no WebSocket here)")

        def read_too_slow(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()  # as a hang-up: a handler reading the body sees one

    return LimitedProtocol


REDACTED = "[REDACTED]"


def redact_query(path: str) -> str:
    """A path with the values of credential-like query parameters (and JWT-shaped values)
    replaced by [REDACTED]."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = [
        (name, REDACTED if is_secret_param(name, value) else value)
        for name, value in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{base}?{urlencode(pairs, safe='[]', quote_via=quote)}"


class RedactQuery(logging.Filter):
    """uvicorn's access log line, with query credentials redacted (`?api_key=sk-...`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


class QuietControlReads(logging.Filter):
    """Leaves out the access lines of successful control-plane reads.

    An open console polls /_emulator/health every few seconds and loads its own files; a line
    for each would bury the chat requests a user is watching for. Control-plane changes and
    every error are still logged, and GET /_emulator/journal lists every chat request.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not (isinstance(args, tuple) and len(args) == 5):
            return True
        _, method, path, _, status = args
        read = method in ("GET", "HEAD") and isinstance(status, int) and status < 400
        return not (read and isinstance(path, str) and _is_console_path(path))


def _is_console_path(path: str) -> bool:
    path = path.partition("?")[0]
    return path == "/" or path == "/_emulator" or path.startswith("/_emulator/")


_REDACT = RedactQuery()
_QUIET = QuietControlReads()


def redact_access_log() -> None:
    """Install the redaction (and the quiet control-plane reads) on uvicorn's access logger,
    once per process."""
    logger = logging.getLogger("uvicorn.access")
    for each in (_QUIET, _REDACT):
        if each not in logger.filters:
            logger.addFilter(each)
