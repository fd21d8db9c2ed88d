"""Servers under test as real subprocesses on OS-picked 127.0.0.1 ports, each bounded in time."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LISTENING = re.compile(r"Listening on http://127\.0\.0\.1:(\d+)")
START_TIMEOUT_S = 30.0


@dataclass
class Server:
    """A running server process and its port; `output` keeps its last lines, for errors."""

    process: subprocess.Popen[str]
    port: int
    started_at: float  # perf_counter() just before the process was spawned
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """The process's resident set size now, in MiB (from /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc status")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def emulator_command(config: Path, *extra: str) -> list[str]:
    """`emulator serve` on a free port, quiet, as a user would start it."""
    return [
        sys.executable, "-m", "emulator", "serve", "--config", str(config),
        "--port", "0", "--log-level", "warning", *extra,
    ]  # fmt: skip


def bare_command() -> list[str]:
    return [sys.executable, "-m", "bench.bare"]


def start(command: Sequence[str], cwd: Path | None = None) -> Server:
    """Spawn `command` and return once it has printed the port it listens on."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        cwd=cwd or root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:  # keeps draining, or a full pipe would stall the server's logging
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
            output.append(line)
            del output[:-50]
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = started + START_TIMEOUT_S
    while True:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.perf_counter()))
        except queue.Empty:
            process.kill()
            raise TimeoutError(f"{command[:4]} printed no port in {START_TIMEOUT_S} s") from None
        if line is None:
            raise RuntimeError(f"server exited with {process.wait()}:\n{''.join(output)}")
        found = LISTENING.search(line)
        if found:
            return Server(process, int(found.group(1)), started, output)


@contextlib.contextmanager
def running(command: Sequence[str], cwd: Path | None = None) -> Iterator[Server]:
    server = start(command, cwd)
    try:
        yield server
    finally:
        server.stop()


def http_request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """One HTTP/1.1 request, pre-encoded (Connection: close), for the raw-socket clients."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def fetch(port: int, request: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send a pre-encoded Connection: close request; (status, whole raw response)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
    return status, raw


def wait_for_200(server: Server, request: bytes, give_up_s: float = START_TIMEOUT_S) -> float:
    """Poll until `request` answers 200; seconds from spawn to that answer."""
    deadline = time.perf_counter() + give_up_s
    while time.perf_counter() < deadline:
        try:
            status, raw = fetch(server.port, request)
        except OSError:
            status, raw = 0, b""
        if status == 200:
            return time.perf_counter() - server.started_at
        if status:
            raise RuntimeError(f"answered {status}: {raw[:300]!r}")
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited:\n{''.join(server.output)}")
        time.sleep(0.005)
    raise TimeoutError(f"no 200 within {give_up_s} s")
