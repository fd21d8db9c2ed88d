"""The load generator: wrk when installed (Debian's `wrk`), else a multi-process fallback.

Both keep `connections` keep-alive connections busy with one pre-encoded request for a fixed
time and report requests per second and the p50/p99 latency. wrk gets its POST body from a
generated Lua script. The fallback (asyncio + httptools' response parser, one process per
core) is slower than wrk; the bare app measured by the same generator in the same run shows
whether it was fast enough.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = 32
WRK = shutil.which("wrk")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    # When set, each request's body is `body` with "{n}" replaced by a number unique to it
    # (a new widget session per turn, say); otherwise every request is the same bytes.
    numbered: bool = False

    def with_number(self, n: int) -> Request:
        return Request(
            self.method, self.path, self.body.replace(b"{n}", str(n).encode()), self.headers
        )

    def encoded(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        if self.body or self.method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True)
class Load:
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers, timeouts, socket errors


def generator() -> str:
    return "wrk" if WRK else "python fallback (wrk not installed: apt-get install wrk)"


def run(port: int, request: Request, seconds: float, connections: int = CONNECTIONS) -> Load:
    """Drive `request` at the server for `seconds`."""
    if WRK:
        return _wrk(port, request, seconds, connections)
    return _fallback(port, request, seconds, connections)


# -- wrk ---------------------------------------------------------------------------------

_LUA = """\
wrk.method = {method}
wrk.path = {path}
wrk.body = {body}
{headers}
{numbered}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {{\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, " ..
    "\\"p50_us\\": %d, \\"p99_us\\": %d}}\\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50.0), latency:percentile(99.0)))
end
"""


# Each thread numbers its requests from its own base, so numbers never repeat across threads.
_NUMBERED = """\
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("base", threads * 100000000)
end
local n = 0
local template = wrk.body
function request()
  n = n + 1
  local body = template:gsub("{n}", tostring(base + n))
  return wrk.format(nil, nil, nil, body)
end
"""


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def _script(request: Request) -> str:
    headers = dict(request.headers)
    if request.body or request.method == "POST":
        headers.setdefault("Content-Type", "application/json")
    return _LUA.format(
        method=_lua_string(request.method),
        path=_lua_string(request.path),
        body=_lua_string(request.body.decode()) if request.body else "nil",
        headers="\n".join(
            f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()
        ),
        numbered=_NUMBERED if request.numbered else "",
    )


def _wrk(port: int, request: Request, seconds: float, connections: int) -> Load:
    assert WRK is not None
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "request.lua"
        script.write_text(_script(request))
        command = [
            WRK, "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}",
        ]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            figures = json.loads(line[6:])
            return Load(
                rate=figures["requests"] / (figures["duration_us"] / 1e6),
                p50_ms=figures["p50_us"] / 1000,
                p99_ms=figures["p99_us"] / 1000,
                requests=figures["requests"],
                errors=figures["errors"],
            )
    raise RuntimeError(f"wrk gave no figures:\n{done.stdout}\n{done.stderr}")


# -- the fallback: one process per core, asyncio + httptools ------------------------------


def _fallback(port: int, request: Request, seconds: float, connections: int) -> Load:
    processes = max(1, min(os.cpu_count() or 1, connections))
    share = [connections // processes + (i < connections % processes) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        jobs = [
            (
                [request.with_number(p * 10**8 + i).encoded() for i in range(2000)]
                if request.numbered
                else [request.encoded()],
                seconds,
                n,
            )
            for p, n in enumerate(share)
            if n > 0
        ]
        results = pool.starmap(_drive, [(port, *job) for job in jobs])
    latencies = sorted(ms for lat, _ in results for ms in lat)
    errors = sum(err for _, err in results)
    if not latencies:
        return Load(0.0, 0.0, 0.0, 0, errors)
    quantiles = statistics.quantiles(latencies, n=100)
    return Load(len(latencies) / seconds, quantiles[49], quantiles[98], len(latencies), errors)


def _drive(
    port: int, raws: list[bytes], seconds: float, connections: int
) -> tuple[list[float], int]:
    import asyncio

    import httptools
    import uvloop

    latencies: list[float] = []
    errors = 0
    sent = 0

    class Connection(asyncio.Protocol):
        def __init__(self, stop_at: float, finished: asyncio.Future[None]) -> None:
            self.stop_at = stop_at
            self.finished = finished
            self.parser = httptools.HttpResponseParser(self)
            self.transport: asyncio.Transport | None = None
            self.sent = 0.0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]
            self.send()

        def send(self) -> None:
            assert self.transport is not None
            nonlocal sent
            self.sent = time.perf_counter()
            self.transport.write(raws[sent % len(raws)])
            sent += 1

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            nonlocal errors
            now = time.perf_counter()
            if self.parser.get_status_code() >= 400:
                errors += 1
            else:
                latencies.append((now - self.sent) * 1000)
            if now < self.stop_at:
                self.send()
            elif not self.finished.done():
                self.finished.set_result(None)

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.finished.done():
                self.finished.set_result(None)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop_at = time.perf_counter() + seconds
        waits = []
        for _ in range(connections):
            finished: asyncio.Future[None] = loop.create_future()
            await loop.create_connection(
                lambda f=finished: Connection(stop_at, f), "127.0.0.1", port
            )
            waits.append(finished)
        await asyncio.wait_for(asyncio.gather(*waits), timeout=seconds + 30)

    uvloop.run(main())
    return latencies, errors
