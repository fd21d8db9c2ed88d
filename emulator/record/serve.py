"""Runs the recording proxy under uvicorn on an already-bound socket."""

from __future__ import annotations

import logging
import socket

import msgspec
import uvicorn

from emulator.apis.registry import TRANSCRIBERS, dialect
from emulator.config.fixtures import FixtureLibrary
from emulator.connections import KEEP_ALIVE_SECONDS, Limits, limited_protocol, redact_access_log
from emulator.record.proxy import Proxy, build_proxy
from emulator.record.recorder import Recorder, RecordMode
from emulator.record.upstream import HttpxUpstream, public_url
from emulator.server import GRACE_SECONDS, QuietServer, run_until_stopped

LIMITS = Limits()


class RecordSettings(msgspec.Struct, frozen=True):
    api: str
    upstream: str  # as given: may hold a base path (and user info, never written)
    node: str
    fixture: str
    fixtures: str
    secrets: frozenset[str]
    timeout: float
    log_level: str
    mode: RecordMode = RecordMode.APPEND


def run(settings: RecordSettings, sock: socket.socket) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request says nothing new
    recorder = Recorder(
        FixtureLibrary(settings.fixtures),
        settings.fixture,
        api=settings.api,
        upstream=public_url(settings.upstream),
        secrets=settings.secrets,
        mode=settings.mode,
    )
    proxy = Proxy(
        upstream=HttpxUpstream(settings.timeout),
        base_url=settings.upstream.rstrip("/"),
        transcriber=TRANSCRIBERS[settings.api],
        errors=dialect(settings.api),
        recorder=recorder,
    )
    server = QuietServer(
        uvicorn.Config(
            build_proxy(proxy),
            loop="uvloop",
            http=limited_protocol(LIMITS),
            log_level=settings.log_level.lower(),
            lifespan="on",
            timeout_graceful_shutdown=GRACE_SECONDS,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            limit_concurrency=LIMITS.cap(),
            server_header=False,  # the upstream's Server and Date headers pass through
            date_header=False,
        )
    )
    redact_access_log()  # a forwarded ?api_key= stays out of the log
    return run_until_stopped(server, sock)
