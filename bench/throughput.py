"""Requests per second through the whole stack, against a baseline in the same run.

A real `emulator serve` (uvicorn, uvloop, httptools; in-memory store; logging at warning) on a
free port, driven by one asyncio httpx client with `CONCURRENCY` requests in flight. The
baseline is `GET /_emulator/health`, the cheapest route through the same server; each chat
scenario is reported as requests per second and as a share of the baseline, so a slower
machine moves both figures together. A chat turn (parse, resolve, authenticate, decide the
reply, store two messages, encode) must keep at least `TARGET_SHARE` of the baseline's rate.
The client runs on the same machine (and, on a small one, competes for its cores), so the
absolute rates are lower bounds; the shares are the figure to compare between runs.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bench.reload import _start

REQUESTS = 1500
CONCURRENCY = 16
TARGET_SHARE = 0.25
MESSAGE = "What are your opening hours on weekdays, and where is order ORD-1234?"

CONFIG = """\
version: 1
nodes:
  bench:
    api: interlocute
    model: {kind: echo, template: "You said: {message}"}
    auth: {api_keys: [sk-bench]}
  replayed:
    api: widget
    model: {kind: replay, fixture: bench}
    auth: {api_keys: [wk-bench]}
"""
FIXTURE = f"""\
conversations:
  - turns:
      - message: "{MESSAGE}"
        reply: Open 9 to 5; it ships today.
"""

Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
AUTH = {"Authorization": "Bearer sk-bench"}


async def _health(client: httpx.AsyncClient, _: int) -> httpx.Response:
    return await client.get("/_emulator/health")


async def _chat(client: httpx.AsyncClient, _: int) -> httpx.Response:
    return await client.post("/nodes/bench/chat", json={"content": MESSAGE}, headers=AUTH)


async def _stream(client: httpx.AsyncClient, _: int) -> httpx.Response:
    return await client.post("/nodes/bench/chat/stream", json={"content": MESSAGE}, headers=AUTH)


async def _replay(client: httpx.AsyncClient, n: int) -> httpx.Response:
    body = {"sessionId": f"s{n}", "message": MESSAGE}
    return await client.post(
        "/nodes/replayed/v1/chat/stream", json=body, headers={"x-api-key": "wk-bench"}
    )


SCENARIOS: list[tuple[str, Call]] = [
    ("GET /_emulator/health (baseline)", _health),
    ("POST /chat, echo", _chat),
    ("POST /chat/stream, echo, SSE", _stream),
    ("widget stream, replay", _replay),
]


async def _rate(url: str, call: Call) -> float:
    """Requests per second for REQUESTS calls, CONCURRENCY at a time (after a warm-up)."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        for n in range(CONCURRENCY):
            (await call(client, -n - 1)).raise_for_status()
        queue = iter(range(REQUESTS))

        async def worker() -> None:
            for n in queue:
                response = await call(client, n)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(CONCURRENCY))), timeout=120)
        return REQUESTS / (time.perf_counter() - started)


def _ready(url: str, give_up: float = 30.0) -> None:
    """Wait until the server answers (the banner comes before uvicorn accepts)."""
    deadline = time.monotonic() + give_up
    while True:
        try:
            httpx.get(f"{url}/_emulator/health", timeout=2).raise_for_status()
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "nodes.yaml"
        config.write_text(CONFIG)
        (Path(tmp) / "fixtures").mkdir()
        (Path(tmp) / "fixtures" / "bench.yaml").write_text(FIXTURE)
        process, port = _start(config)
        try:
            url = f"http://127.0.0.1:{port}"
            _ready(url)
            rates = [(name, asyncio.run(_rate(url, call))) for name, call in SCENARIOS]
        finally:
            process.terminate()
            process.wait(timeout=10)
    baseline = rates[0][1]
    print(f"   {REQUESTS} requests each, {CONCURRENCY} in flight:")
    worst = 1.0
    for name, rate in rates:
        share = rate / baseline
        worst = min(worst, share)
        print(f"   {name:<36} {rate:8.0f} req/s  {share:5.2f} x baseline")
    passed = worst >= TARGET_SHARE
    verdict = "PASS" if passed else "FAIL"
    print(f"   slowest share {worst:.2f} (target >= {TARGET_SHARE}): {verdict}")
    return passed
