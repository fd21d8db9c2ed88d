"""`EmulatorServer`: the real emulator on a free loopback port, in a background thread.

No pytest here: any test runner, script or notebook can use it.

    with EmulatorServer("version: 1\\nnodes: ...") as emulator:
        httpx.post(emulator.node_url("support") + "/chat", ...)
        assert emulator.threads()
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import uvicorn
import yaml

from emulator.cli import bind, bundled_config_path, demo_fixtures
from emulator.config.errors import ConfigError, ConfigIssue
from emulator.config.loader import parse_config_bytes, read_config_file
from emulator.config.model import Location
from emulator.server import build_server

HOST = "127.0.0.1"
CLIENT = {"X-Emulator-Client": "pytest"}  # what the control plane asks of state changes

ConfigSource = str | Mapping[str, Any] | os.PathLike[str]
"""YAML text, a mapping (dumped to YAML), or the path of a nodes.yaml.

A one-line string ending in `.yaml` or `.yml` is a path: as YAML it could never be a config.
"""


class ConfigRejected(ConfigError):
    """PUT /_emulator/config answered 422, so the config was not applied.

    `errors` is the server's list of `{"file", "line", "column", "message"}`; the exception's
    text has one `file:line:col: message` line per error.
    """

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__([_issue(error) for error in errors])


class EmulatorStartError(RuntimeError):
    """The server did not come up: it stopped while starting, or never answered health."""


def config_bytes(config: ConfigSource) -> tuple[bytes, str | None]:
    """The YAML bytes of a config, and the file they were read from (None if none)."""
    if isinstance(config, Mapping):
        return yaml.safe_dump(dict(config), sort_keys=False).encode(), None
    if isinstance(config, str) and not _is_path(config):
        return config.encode(), None
    return read_config_file(config), os.fspath(config)


class EmulatorServer:
    """The emulator's app under uvicorn, in a thread, on 127.0.0.1 and a port the OS picks.

    `config` is YAML text, a mapping or a nodes.yaml path (default: the bundled demo config).
    Threads live in memory unless `data` names a directory; `seed` makes ids and lorem text
    repeat. Replay nodes read their fixtures from `fixtures` (a directory, relative to the
    working directory like `emulator serve --fixtures`). The config file is not watched: swap
    configs with `configure()`. `timeout` bounds starting, stopping and each control-plane
    call, in seconds.

    A config that does not load raises ConfigError here, with every `file:line:col: message`.

    Use it as a context manager, or call `start()` and `stop()`.
    """

    def __init__(
        self,
        config: ConfigSource | None = None,
        *,
        seed: int | None = None,
        data: str | os.PathLike[str] | None = None,
        fixtures: str | os.PathLike[str] = "fixtures",
        timeout: float = 10.0,
    ) -> None:
        source = bundled_config_path() if config is None else config
        if config is None:
            fixtures = demo_fixtures(fixtures)
        self._config, self._config_file = config_bytes(source)
        self._parsed = parse_config_bytes(self._config, self._config_file or "<config>")
        self.seed = seed
        self.data = data
        self.fixtures = fixtures
        self.timeout = timeout
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._client: httpx.Client | None = None
        self._failure: BaseException | None = None
        self._generation = 0  # of the config it started with, or last restored

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:40123`."""
        return f"http://{HOST}:{self.port}"

    def node_url(self, alias: str) -> str:
        """The base URL of one node in the path form (`.../nodes/{alias}`), which needs no DNS."""
        return f"{self.url}/nodes/{alias}"

    def start(self) -> Self:
        """Start serving; returns once `/_emulator/health` answers.

        Raises StoreError for a data directory that cannot be opened, EmulatorStartError if the
        server does not come up.
        """
        if self._thread is not None:
            raise RuntimeError("this EmulatorServer is already running")
        self._server = build_server(
            self._parsed,
            data=self.data,
            seed=self.seed,
            config_file=self._config_file,
            fixtures=self.fixtures,
            log_level=None,
        )
        # bind() listens at once: the first requests queue until uvicorn accepts them, instead
        # of being refused while it starts.
        self._sock = bind(HOST, 0)
        self.port = self._sock.getsockname()[1]
        self._failure = None
        self._thread = threading.Thread(
            target=self._serve, name=f"emulator-server-{self.port}", daemon=True
        )
        self._thread.start()
        # Declares itself on every control-plane call: state-changing ones need it (CSRF rule).
        self._client = httpx.Client(
            base_url=self.url, timeout=self.timeout, headers={"X-Emulator-Client": "pytest"}
        )
        try:
            self._generation = self._wait_healthy()["generation"]
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Shut uvicorn down and join its thread. Does nothing if not running. Open streams end
        with their API's error event, as on Ctrl-C."""
        if self._client is not None:
            self._client.close()
            self._client = None
        server, thread, sock = self._server, self._thread, self._sock
        self._server = self._thread = self._sock = None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(self.timeout)
        if thread.is_alive():  # a stream that will not end: drop the connections
            server.force_exit = True
            thread.join(self.timeout)
        if sock is not None:
            sock.close()
        if thread.is_alive():
            raise TimeoutError(f"the emulator on {self.url} did not stop within {self.timeout} s")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def configure(self, config: ConfigSource) -> dict[str, Any]:
        """Apply a whole config (PUT /_emulator/config); the result says what changed.

        Raises ConfigRejected, with the server's `errors`, when the config has errors; the
        running config then stays.
        """
        return self._put_config(config_bytes(config)[0])

    def restore(self) -> None:
        """Apply the config the server started with again, if another one replaced it."""
        if self.health()["generation"] != self._generation:
            self._generation = self._put_config(self._config)["generation"]

    def reset(self) -> None:
        """Forget every thread, idempotency record and journal entry; refill rate limits."""
        self._call("POST", "/reset")

    def threads(self, node: str | None = None) -> list[dict[str, Any]]:
        """The stored threads, of one node if given."""
        params = {"node": node} if node is not None else {}
        threads: list[dict[str, Any]] = self._call("GET", "/threads", params=params)["threads"]
        return threads

    def thread(self, thread_id: str) -> dict[str, Any]:
        """One thread with every message; httpx.HTTPStatusError (404) if there is none."""
        return self._call("GET", f"/threads/{thread_id}")

    def journal(self, limit: int | None = None, node: str | None = None) -> list[dict[str, Any]]:
        """The recent requests to nodes, oldest first (the last 100 unless `limit` says)."""
        params: dict[str, str | int] = {"limit": limit} if limit is not None else {}
        if node is not None:
            params["node"] = node
        entries: list[dict[str, Any]] = self._call("GET", "/journal", params=params)["entries"]
        return entries

    def overrides(
        self,
        alias: str,
        *,
        faults: Sequence[Mapping[str, Any]] = (),
        latency: Mapping[str, Any] | None = None,
        rate_limit: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Replace a node's runtime overrides (PUT /_emulator/nodes/{alias}/overrides): faults
        tried before its own (same keys as nodes.yaml `faults`), and a `latency` (with
        `delay_ms`) and `rate_limit` that replace its own. Returns them as stored.

        Raises ConfigRejected, with the server's `errors`, for a bad override. `reset()` (so
        every test of the `emulator` fixture) clears them.
        """
        body = {"faults": list(faults), "latency": latency, "rate_limit": rate_limit}
        response = self._http.put(_overrides(alias), json=body, headers=CLIENT)
        if response.status_code == 422:
            raise ConfigRejected(response.json()["errors"])
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def get_overrides(self, alias: str) -> dict[str, Any]:
        """A node's runtime overrides: `{"faults", "latency", "rate_limit"}`."""
        response = self._http.get(_overrides(alias))
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def faults(self, alias: str, *faults: Mapping[str, Any], **fault: Any) -> dict[str, Any]:
        """Make a node fail at runtime, e.g. `faults("support", status=503, times=3)` (the next
        three requests get a 503) or `faults("support", stream_error_after=5)`. Replaces its
        override faults; its override latency and rate limit stay."""
        current = self.get_overrides(alias)
        wanted = [*faults, *([fault] if fault else [])]
        return self.overrides(
            alias, faults=wanted, latency=current["latency"], rate_limit=current["rate_limit"]
        )

    def latency(self, alias: str, **latency: float) -> dict[str, Any]:
        """Slow a node down at runtime, e.g. `latency("support", first_token_ms=800,
        tokens_per_second=10)` or `latency("support", delay_ms=5000)` (a stall before the first
        byte). Its override faults and rate limit stay."""
        current = self.get_overrides(alias)
        return self.overrides(
            alias, faults=current["faults"], latency=latency, rate_limit=current["rate_limit"]
        )

    def clear_overrides(self, alias: str | None = None) -> None:
        """Clear one node's runtime overrides, or every node's."""
        if alias is not None:
            self._http.delete(_overrides(alias), headers=CLIENT).raise_for_status()
            return
        for node in self._call("GET", "/nodes")["nodes"]:
            self._http.delete(_overrides(node["alias"]), headers=CLIENT).raise_for_status()

    def health(self) -> dict[str, Any]:
        """GET /_emulator/health: status, config generation and path, the last config error."""
        return self._call("GET", "/health")

    def _put_config(self, body: bytes) -> dict[str, Any]:
        response = self._http.put("/_emulator/config", content=body)
        if response.status_code == 422:
            raise ConfigRejected(response.json()["errors"])
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, "/_emulator" + path, **kwargs)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    @property
    def _http(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("the emulator is not running: use `with EmulatorServer(...)`")
        return self._client

    def _serve(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # SystemExit included: uvicorn exits on some failures
            self._failure = exc

    def _wait_healthy(self) -> dict[str, Any]:
        assert self._thread is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                reason = f": {self._failure!r}" if self._failure else " (see the log)"
                raise EmulatorStartError(f"the emulator stopped while starting{reason}")
            try:
                response = self._http.get("/_emulator/health", timeout=0.25)
            except httpx.TimeoutException:
                continue  # queued while uvicorn starts; look at the thread again
            response.raise_for_status()
            health: dict[str, Any] = response.json()
            return health
        raise EmulatorStartError(f"the emulator did not answer health within {self.timeout} s")


def _overrides(alias: str) -> str:
    return f"/_emulator/nodes/{quote(alias, safe='')}/overrides"


def _is_path(text: str) -> bool:
    return "\n" not in text and text.strip().endswith((".yaml", ".yml"))


def _issue(error: Mapping[str, Any]) -> ConfigIssue:
    file, line, column = error.get("file"), error.get("line"), error.get("column")
    where = Location(file, line, column) if file and line and column else None
    return ConfigIssue(where, str(error.get("message", "")))
