"""Runs the app under uvicorn (uvloop + httptools) on an already-bound socket.

`emulator serve` and `emulator.testing.EmulatorServer` build their server with the same
`build_server`.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

import uvicorn
from uvicorn.config import LOGGING_CONFIG

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
        server = build_server(
            config,
            data=None if args.memory else args.data,
            seed=args.seed,
            config_file=config.path,
            fixtures=args.fixtures,
            control_token=control_token,
            watch_config=reload,
            log_level=args.log_level,
        )
    except StoreError as exc:
        print(f"emulator: cannot open the data directory: {exc}", file=sys.stderr)
        return 1
    server.run(sockets=[sock])
    return 0


def build_server(
    config: Config,
    *,
    data: str | os.PathLike[str] | None,
    seed: int | None = None,
    config_file: str | os.PathLike[str] | None = None,
    fixtures: str | os.PathLike[str] | None = None,
    control_token: str | None = None,
    watch_config: bool = False,
    log_level: str | None = "info",
) -> uvicorn.Server:
    """The uvicorn server for `config`, ready for `run(sockets=[...])` or `serve(...)`.

    `data` is the store's directory (None: in memory only). `config_file` is what
    POST /_emulator/reload and the watcher read (None: the config came from elsewhere).
    `log_level` None leaves the process's logging as its host set it up, for a server embedded
    in another program (a test run). Raises StoreError when the data directory cannot be opened.
    """
    store = TinyStore(data)
    library = FixtureLibrary(fixtures) if fixtures is not None else None
    engine = Engine(config, store, seed=seed, fixtures=library)
    reloader = Reloader(engine, config_file, fixtures=fixtures)
    app = build_app(
        engine,
        control_token=control_token,
        reloader=reloader,
        watch_config=watch_config,
        configure_root_logger=log_level is not None,
    )
    app.on_shutdown.append(lambda: store.close())
    return uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            log_level=log_level.lower() if log_level else None,
            log_config=LOGGING_CONFIG if log_level else None,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
