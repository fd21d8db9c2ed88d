"""`emulator serve --memory` built by `emulator.server.build_server`, plus a loop-lag probe.

The probe is a task that asks to wake every `TICK_S` and notes how late it woke: that delay
is the event loop's lag, the time a ready callback (a token due to be sent) waits behind
others. `GET /_bench/lag` answers the worst and the 99th percentile since the last call and
starts over. Everything else is the server `emulator serve` runs.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

from litestar import get

from emulator.config.loader import load_config
from emulator.server import build_server

TICK_S = 0.005


def main(config: str) -> int:
    server = build_server(load_config(Path(config)), data=None, log_level="warning")
    app: Any = server.config.app
    lags: list[float] = []

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK_S)
            lags.append(loop.time() - before - TICK_S)

    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        tasks.append(asyncio.create_task(probe()))

    @get("/_bench/lag", sync_to_thread=False)
    def lag() -> dict[str, float]:
        seen = sorted(lags) or [0.0]
        lags.clear()
        return {"max_ms": seen[-1] * 1000, "p99_ms": seen[int(len(seen) * 0.99)] * 1000}

    app.on_startup.append(start)
    app.register(lag)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"Listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
