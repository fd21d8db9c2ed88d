"""200 concurrent slow streams (SPEC 8): the worst time to first token, and the loop's lag.

A node streams 100 tokens at 20 tokens/s after `FIRST_TOKEN_MS`, so each stream lasts about
5 s. `STREAMS` raw-socket clients connect first, then all send their request at once; each
notes when its first `event: token` arrives. The server is `bench.lagserver` (the server
`emulator serve` runs, plus a probe of its event loop's lag).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Row
from bench.servers import fetch, http_request, running, wait_for_200

STREAMS = 200
FIRST_TOKEN_MS = 200
TOKENS_PER_SECOND = 20
TOKENS = 100
SLACK_MS = 100.0
LAG_TARGET_MS = 50.0
GIVE_UP_S = 30.0

CONFIG = f"""\
version: 1
nodes:
  slow:
    api: interlocute
    model: {{kind: echo, template: "{{message}}"}}
    latency: {{first_token_ms: {FIRST_TOKEN_MS}, tokens_per_second: {TOKENS_PER_SECOND}}}
    auth: {{anonymous: true}}
"""
# Each word is one token, the leading space included.
MESSAGE = " ".join(f"w{i}" for i in range(TOKENS))
STREAM = http_request(
    "POST",
    "/nodes/slow/chat/stream",
    json.dumps({"content": MESSAGE}).encode(),
    {"Accept": "text/event-stream"},
)


async def _one(port: int, go: asyncio.Event) -> tuple[float, bool]:
    """Seconds from sending to the first token, and whether the stream ended with `done`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await go.wait()
        sent = time.perf_counter()
        writer.write(STREAM)
        seen = b""
        first = None
        done = False
        while chunk := await reader.read(65536):
            seen = seen[-64:] + chunk
            if first is None and b"event: token" in seen:
                first = time.perf_counter() - sent
            done = done or b"event: done" in seen
        return (first if first is not None else float("inf")), done
    finally:
        writer.close()


async def _all(port: int) -> tuple[list[float], int, float]:
    go = asyncio.Event()
    clients = [asyncio.ensure_future(_one(port, go)) for _ in range(STREAMS)]
    await asyncio.sleep(0.5)  # every connection accepted before the burst
    started = time.perf_counter()
    go.set()
    results = await asyncio.wait_for(asyncio.gather(*clients), timeout=GIVE_UP_S)
    return [r[0] for r in results], sum(1 for r in results if r[1]), time.perf_counter() - started


def measure() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as tmp:
        config = Path(tmp) / "nodes.yaml"
        config.write_text(CONFIG)
        command = [sys.executable, "-m", "bench.lagserver", str(config)]
        with running(command) as server:
            wait_for_200(server, http_request("GET", "/_emulator/health"))
            fetch(server.port, http_request("GET", "/_bench/lag"))  # start the count afresh
            firsts, done, took = asyncio.run(_all(server.port))
            _, raw = fetch(server.port, http_request("GET", "/_bench/lag"))
    lag = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    worst_ms = max(firsts) * 1000
    allowed = FIRST_TOKEN_MS + SLACK_MS
    complete = done == STREAMS
    return [
        Row(
            f"{STREAMS} streams x {TOKENS_PER_SECOND} tok/s: worst first token",
            f"{worst_ms:.0f} ms" + ("" if complete else f" ({STREAMS - done} INCOMPLETE)"),
            f"<= {allowed:.0f} ms",
            worst_ms <= allowed and complete,
        ),
        Row(
            f"{STREAMS} streams: event-loop lag, worst (p99)",
            f"{lag['max_ms']:.1f} ms ({lag['p99_ms']:.1f})",
            f"< {LAG_TARGET_MS:.0f} ms",
            lag["max_ms"] < LAG_TARGET_MS,
        ),
        Row(f"{STREAMS} streams: all done in", f"{took:.1f} s"),
    ]
