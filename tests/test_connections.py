"""Connection limits and the access log, on the real uvicorn server `emulator serve` builds:
idle and slow connections are closed, a crowd beyond the cap is answered 503 at once, and
query credentials never reach the log."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from emulator.cli import bind
from emulator.config.loader import parse_config
from emulator.connections import Limits, redact_query
from emulator.server import QuietServer, build_server
from tests.conftest import TEST_CONFIG

HEALTH = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@contextmanager
def serving(limits: Limits) -> Iterator[int]:
    """A server with these limits on a free port, in a thread; yields the port."""
    with running(limits) as (_, port):
        yield port


@contextmanager
def running(limits: Limits) -> Iterator[tuple[QuietServer, int]]:
    """`serving`, yielding the server too."""
    server = build_server(
        parse_config(TEST_CONFIG, "t.yaml"), data=None, log_level=None, limits=limits
    )
    sock = bind("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    try:
        yield server, sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def closed_within(conn: socket.socket, seconds: float) -> bool:
    """Whether the server closes `conn` within `seconds` (reading whatever it sends)."""
    conn.settimeout(seconds)
    try:
        while conn.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def trickle(conn: socket.socket, data: bytes) -> bool:
    """Send `data` a byte every 100 ms; whether the server closed the connection meanwhile."""
    for byte in data:
        try:
            conn.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return True
        if closed_within(conn, 0.1):
            return True
    return False


def test_idle_connections_are_closed_after_the_keep_alive_timeout() -> None:
    with (
        serving(Limits(keep_alive=0.3)) as port,
        socket.create_connection(("127.0.0.1", port)) as silent,  # never sends a byte
        socket.create_connection(("127.0.0.1", port)) as served,
    ):
        served.sendall(HEALTH)
        assert served.recv(65536).startswith(b"HTTP/1.1 200")  # then idle, kept alive
        started = time.monotonic()
        assert closed_within(silent, 5) and closed_within(served, 5)
        assert time.monotonic() - started < 3  # generous: without a limit, never


def test_a_request_that_trickles_in_is_cut_off() -> None:
    """A byte every 100 ms keeps a connection from being idle, but the request must be read
    whole within `request_read` seconds of its first byte."""
    with serving(Limits(keep_alive=5, request_read=0.5)) as port:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as slow:
            assert trickle(slow, HEALTH[:-2]), "the server kept a request that never finished"
        assert time.monotonic() - started < 3
        # and a request that arrives in time is served
        assert httpx.get(f"http://127.0.0.1:{port}/_emulator/health").status_code == 200


def test_connections_beyond_the_cap_get_503_at_once() -> None:
    with serving(Limits(keep_alive=10, max_connections=4)) as port:
        with ExitStack() as crowd:
            for _ in range(4):
                crowd.enter_context(socket.create_connection(("127.0.0.1", port)))
            time.sleep(0.1)  # let the server accept them
            over = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=5)
            assert over.status_code == 503
        time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/_emulator/health").status_code == 200


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/chat?api_key=sk-1", "/chat?api_key=[REDACTED]"),
        ("/chat?apiKey=sk-1&x=2", "/chat?apiKey=[REDACTED]&x=2"),
        (
            "/c?access_token=t&Token=u&password=p",
            "/c?access_token=[REDACTED]&Token=[REDACTED]&password=[REDACTED]",
        ),
        ("/c?q=eyJhbGciOiJI.eyJzdWIiOjEyMw.c2lnbmF0dXJl", "/c?q=[REDACTED]"),
        ("/chit?verbosity=high", "/chit?verbosity=high"),
        ("/chat", "/chat"),
    ],
)
def test_query_credentials_are_redacted(path: str, logged: str) -> None:
    assert redact_query(path) == logged


def test_a_websocket_upgrade_is_answered_as_plain_http_without_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No API speaks WebSocket: an Upgrade request gets the HTTP answer its path has, and the log
    does not tell the user to install a WebSocket library."""
    upgrade = HEALTH.replace(
        b"\r\n\r\n",
        b"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    with (
        caplog.at_level("WARNING"),
        serving(Limits()) as port,
        socket.create_connection(("127.0.0.1", port)) as conn,
    ):
        conn.sendall(upgrade)
        conn.settimeout(5)
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b'"status":"ok"' in answer.replace(b" ", b""), answer
    assert not [r for r in caplog.records if r.levelname == "WARNING"], caplog.text


def test_a_local_client_cannot_rename_itself_with_x_forwarded_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The emulator is not behind a proxy: the access log names the peer that connected."""
    spoofed = b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n"
    with (
        caplog.at_level("INFO", logger="uvicorn.access"),
        serving(Limits()) as port,
        socket.create_connection(("127.0.0.1", port)) as conn,
    ):
        conn.sendall(spoofed)
        conn.settimeout(5)
        assert conn.recv(65536).startswith(b"HTTP/1.1 404")
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("127.0.0.1" in line and "/nowhere" in line for line in lines), lines
    assert "203.0.113.9" not in caplog.text


def test_connections_that_arrive_together_are_taken_in_together_and_answered() -> None:
    """libuv takes in one waiting connection per turn of the event loop; the server takes in
    the others waiting behind it at once. Each is answered, twice (kept alive), like any."""
    with running(Limits(keep_alive=10)) as (server, port):
        conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        try:
            for conn in conns:
                conn.sendall(HEALTH)
            for conn in conns:
                conn.settimeout(5)
                assert conn.recv(65536).startswith(b"HTTP/1.1 200")
            together = [c for c in server.server_state.connections if c.taken_in_together]
            assert together, "every connection waited for a turn of its own"
            for conn in conns:
                conn.sendall(HEALTH)
                assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        finally:
            for conn in conns:
                conn.close()
