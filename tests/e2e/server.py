"""Start a real `emulator serve` (or `emulator record`) subprocess on a free port, for
end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

LISTENING = re.compile(r"Listening on http://127\.0\.0\.1:(\d+)")


class Server:
    """A running `python -m emulator serve --port 0`; its port is read from the banner.

    `command="record"` runs `emulator record` instead (its banner has the same `Listening on`
    line); it is ready once its port accepts connections. `spawn()` then `ready()` lets a test
    start several processes at once.
    """

    def __init__(
        self, config: Path | None, *args: str, cwd: Path | None = None, command: str = "serve"
    ) -> None:
        self.config = config
        self.args = args
        self.cwd = cwd or (config.parent if config else Path.cwd())
        self.command = command
        self.process: subprocess.Popen[str] | None = None
        self.port = 0
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        return self.spawn().ready(timeout)

    def spawn(self) -> Server:
        """Start the process; `ready()` waits for it to serve."""
        config = ["--config", str(self.config)] if self.config else []
        command = [
            *(sys.executable, "-m", "emulator", self.command),
            *(*config, "--port", "0", *self.args),
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Drain output on a thread: a full pipe would block the server's logging.
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        return self

    def ready(self, timeout: float = 30.0) -> Server:
        try:
            return self._ready(timeout)
        except BaseException:
            self.kill()
            raise

    def _ready(self, timeout: float) -> Server:
        assert self.process is not None, "spawn() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next(filter(None, map(LISTENING.search, list(self.output))), None)
            if found:
                self.port = int(found.group(1))
                self._wait_healthy(deadline)
                return self
            if self.process.poll() is not None:
                time.sleep(0.1)
                raise RuntimeError("server exited early:\n" + self.text)
            time.sleep(0.02)
        raise TimeoutError("server did not start:\n" + self.text)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def wait_for(self, part: str, timeout: float = 10.0) -> bool:
        """Whether `part` shows in the output within `timeout` s (a line logged just before a
        response may reach the test after the response, through the pipe and the drain)."""
        deadline = time.monotonic() + timeout
        while part not in self.text:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def _wait_healthy(self, deadline: float) -> None:
        if self.command != "serve":
            self._wait_accepting(deadline)
            return
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/_emulator/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise TimeoutError("server never became healthy")

    def _wait_accepting(self, deadline: float) -> None:
        """Wait for the port to accept a connection (a request might reach an upstream)."""
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("server never accepted a connection")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the server, wait for it to exit and release its pipe."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._drainer.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_cli(
    args: Sequence[str], cwd: Path, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
