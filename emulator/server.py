"""Runs the app under uvicorn (uvloop + httptools) on an already-bound socket."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from emulator.app import build_app
from emulator.config.fixtures import FixtureLibrary
from emulator.config.model import Config
from emulator.config.reloader import Reloader
from emulator.core.engine import Engine
from emulator.core.store import StoreError, TinyStore


def run(
    config: Config,
    sock: socket.socket,
    args: argparse.Namespace,
    *,
    control_token: str | None,
    reload: bool = True,
) -> int:
    try:
        store = TinyStore(None if args.memory else args.data)
    except StoreError as exc:
        print(f"emulator: cannot open the data directory: {exc}", file=sys.stderr)
        return 1
    engine = Engine(config, store, seed=args.seed, fixtures=FixtureLibrary(args.fixtures))
    reloader = Reloader(engine, config.path, fixtures=args.fixtures)
    app = build_app(engine, control_token=control_token, reloader=reloader, watch_config=reload)
    app.on_shutdown.append(lambda: store.close())
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            log_level=args.log_level.lower(),
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    server.run(sockets=[sock])
    return 0
