"""Runs the app under uvicorn (uvloop + httptools) on an already-bound socket.

`emulator serve` and `emulator.testing.EmulatorServer` build their server with the same
`build_server`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from emulator.apis.stopping import stop_streams
from emulator.app import build_app
from emulator.config.fixtures import FixtureLibrary
from emulator.config.model import Config
from emulator.config.reloader import Reloader
from emulator.connections import Limits, limited_protocol, redact_access_log
from emulator.core.engine import Engine
from emulator.core.requestlog import RequestLog
from emulator.core.store import StoreError, TinyStore


def run(
    config: Config,
    sock: socket.socket,
    args: argparse.Namespace,
    *,
    control_token: str | None,
    reload: bool = True,
    banner: Callable[[], None] = lambda: None,
) -> int:
    """Serve on `sock` until stopped; `banner` runs once the store is open (so a store that
    cannot be opened is refused before anything says the server is listening)."""
    try:
        server = build_server(
            config,
            data=None if args.memory else args.data,
            seed=args.seed,
            config_file=config.path,
            fixtures=args.fixtures,
            control_token=control_token,
            allowed_hosts=args.allowed_host,
            watch_config=reload,
            log_level=args.log_level,
        )
    except StoreError as exc:
        print(f"emulator: cannot open the data directory: {exc}", file=sys.stderr)
        return 1
    banner()
    # Everything loaded so far (Litestar, the app, the config) lives as long as the process:
    # out of the collector's sight, a full collection scans only what serving adds (stored
    # turns), which cut its pause by two thirds with 20,000 turns stored (p99 latency).
    gc.freeze()
    return run_until_stopped(server, sock)


GRACE_SECONDS = 2
DEFAULT_LIMITS = Limits()
"""After Ctrl-C, how long a response that cannot end at once (a client that stopped reading,
a slow non-streaming reply) may take before uvicorn cuts it. Open streams end at once."""


class QuietServer(uvicorn.Server):
    """uvicorn, stopping promptly and quietly on Ctrl-C or SIGTERM.

    Open streams end at once with their API's mid-stream error (`stop_streams`). Unless the log
    level is debug, uvicorn's shutdown chatter and the tracebacks of the tasks it cancels are not
    logged: `run_until_stopped` says in one line that the server stopped. The signal is not
    raised again afterwards (uvicorn does that for programs embedding it), so `emulator serve`
    exits 0 with no KeyboardInterrupt traceback.
    """

    stopping = False
    stopped_by: int | None = None
    request_log: RequestLog | None = None  # its journal streams end at once too

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # Where a new connection takes in those waiting behind it (emulator/connections.py).
        self.server_state.listeners = list(sockets or [])  # type: ignore[attr-defined]
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.server_state.listeners = []  # type: ignore[attr-defined]
        self.stopping = True
        stop_streams()
        if self.request_log is not None:
            self.request_log.close()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                captured: list[int] = getattr(self, "_captured_signals", [])
                self.stopped_by = captured[0] if captured else None
                captured.clear()  # uvicorn would raise them again once serving ends


class _Shutdown(logging.Filter):
    """Drops uvicorn's shutdown chatter ("Shutting down", "Waiting for...") and the tracebacks of
    the tasks it cancels, once the server is stopping."""

    def __init__(self, server: QuietServer) -> None:
        super().__init__()
        self.server = server

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.server.stopping:
            return True
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            return False
        if "timeout graceful shutdown exceeded" in str(record.msg):
            return False
        return record.levelno >= logging.WARNING


def run_until_stopped(server: QuietServer, sock: socket.socket) -> int:
    """Serve on `sock` until Ctrl-C or SIGTERM, then say so in one line; the exit status."""
    level = server.config.log_level
    quiet = not (isinstance(level, str) and level.lower() in ("debug", "trace"))
    uvicorn_log = logging.getLogger("uvicorn.error")
    shutdown = _Shutdown(server)
    if quiet:
        uvicorn_log.addFilter(shutdown)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        pass
    finally:
        uvicorn_log.removeFilter(shutdown)
    print("emulator: stopped", file=sys.stderr, flush=True)
    return 0


ACCESS_LOG_LEVELS = ("trace", "debug", "info")  # the levels that print uvicorn's access lines


def build_server(
    config: Config,
    *,
    data: str | os.PathLike[str] | None,
    seed: int | None = None,
    config_file: str | os.PathLike[str] | None = None,
    fixtures: str | os.PathLike[str] | None = None,
    control_token: str | None = None,
    allowed_hosts: Sequence[str] = (),
    watch_config: bool = False,
    log_level: str | None = "info",
    limits: Limits = DEFAULT_LIMITS,
) -> QuietServer:
    """The uvicorn server for `config`, ready for `run(sockets=[...])` or `serve(...)`.

    `data` is the store's directory (None: in memory only). `config_file` is what
    POST /_emulator/reload and the watcher read (None: the config came from elsewhere).
    `log_level` None leaves the process's logging as its host set it up, for a server embedded
    in another program (a test run). `allowed_hosts` are more Host names the control plane
    answers to (--allowed-host). `limits` bounds idle and slow connections and how many are
    served at once. Raises StoreError when the data directory cannot be opened.
    """
    store = TinyStore(data)
    library = FixtureLibrary(fixtures) if fixtures is not None else None
    engine = Engine(config, store, seed=seed, fixtures=library)
    reloader = Reloader(engine, config_file, fixtures=fixtures)
    app = build_app(
        engine,
        control_token=control_token,
        allowed_hosts=allowed_hosts,
        reloader=reloader,
        watch_config=watch_config,
        configure_root_logger=log_level is not None,
    )
    app.on_shutdown.append(lambda: store.close())
    server = QuietServer(
        uvicorn.Config(
            app,
            loop="uvloop",
            http=limited_protocol(limits),
            ws="none",  # no API speaks WebSocket; "auto" would import a websockets library
            # Not behind a proxy: a local client's X-Forwarded-For must not rewrite who it is
            # (in the access log), and the request path is one middleware shorter.
            proxy_headers=False,
            log_level=log_level.lower() if log_level else None,
            log_config=LOGGING_CONFIG if log_level else None,
            lifespan="on",
            timeout_graceful_shutdown=GRACE_SECONDS,
            timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]  # a float works
            limit_concurrency=limits.cap(),
            # uvicorn formats each access line's arguments (quoting the path) before the logger
            # drops it: at `warning` and above no line is ever written, so none is formatted.
            access_log=log_level is None or log_level.lower() in ACCESS_LOG_LEVELS,
        )
    )
    server.request_log = app.state.request_log
    redact_access_log()  # after uvicorn.Config, which configures its loggers
    return server
