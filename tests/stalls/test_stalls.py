"""The Stalls suite: while each attack runs against a real `emulator serve`, a second client's
GET /_emulator/health stays fast (generous bounds: median under 100 ms, none over 1 s, so a
busy 2-core machine does not make it flaky), and the attack itself gets a clear answer."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server
from tests.stalls.probe import HealthProbe

pytestmark = pytest.mark.subprocess

CONTROL = {"X-Emulator-Client": "pytest"}
CONFIG = """\
version: 1
nodes:
  echo:
    api: interlocute
    auth: {anonymous: true}
  rules:
    api: interlocute
    auth: {anonymous: true}
    model:
      kind: scripted
      rules:
        - when: {regex: "^(a|a)+$"}
          reply: never
"""
BOMB = "\n".join(
    ['x-l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"x-l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 9)]
    + [CONFIG]
)
DEEP = CONFIG + "    chit: " + "[" * 2000 + "]" * 2000 + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("stalls")
    config = directory / "nodes.yaml"
    config.write_text(CONFIG)
    with Server(config, "--memory") as running:
        yield running


def rss_mib(server: Server) -> float:
    assert server.process is not None
    with open(f"/proc/{server.process.pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_a_backtracking_regex(server: Server) -> None:
    with HealthProbe(server.url) as probe, httpx.Client(timeout=10) as client:
        for _ in range(5):
            answer = client.post(f"{server.url}/nodes/rules/chat", json={"content": "a" * 40 + "!"})
            assert answer.status_code == 500
            assert "nodes.yaml:12:25" in answer.json()["error"]["message"]
    probe.assert_responsive()


def test_a_one_mebibyte_echo_stream(server: Server) -> None:
    message = "word, " * (1024 * 1024 // 6 - 20)  # 350k tokens; the body just under 1 MiB
    with HealthProbe(server.url) as probe, httpx.Client(timeout=60) as client:
        response = client.post(f"{server.url}/nodes/echo/chat/stream", json={"content": message})
    assert response.status_code == 200
    done = response.text.rsplit("event: done\ndata: ", 1)[1]
    assert json.loads(done)["content"] == message
    assert (
        json.loads(done)["usage"]["outputTokens"] == 2 * (1024 * 1024 // 6 - 20) + 1
    )  # and the last space
    probe.assert_responsive()


def test_fifty_stream_clients_that_never_read(server: Server) -> None:
    body = json.dumps({"content": "word " * 25_000}).encode()  # 25k tokens, ~700 KB of SSE
    request = (
        b"POST /nodes/echo/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    ) + body
    before = rss_mib(server)
    clients: list[socket.socket] = []
    try:
        with HealthProbe(server.url) as probe:
            for _ in range(50):
                client = socket.socket()
                client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                client.connect(("127.0.0.1", server.port))
                client.sendall(request)
                clients.append(client)
            time.sleep(1.5)  # every stream is now blocked on a client that does not read
            grown = rss_mib(server) - before
    finally:
        for client in clients:
            client.close()
    probe.assert_responsive()
    # Streams wait for their readers: replies are not buffered ahead (was 1.5 GB for 50).
    assert grown < 150, f"RSS grew by {grown:.0f} MiB"


@pytest.mark.parametrize("text", [BOMB, DEEP], ids=["alias-bomb", "2000-deep"])
def test_a_config_bomb_sent_with_put(server: Server, text: str) -> None:
    with HealthProbe(server.url) as probe, httpx.Client(timeout=10) as client:
        until = time.monotonic() + 0.5  # refused in milliseconds: sent again for a while
        for _ in range(100):
            answer = client.put(f"{server.url}/_emulator/config", content=text, headers=CONTROL)
            assert answer.status_code == 422
            # The reload lock is free: a reload right after answers at once.
            reload = client.post(f"{server.url}/_emulator/reload", headers=CONTROL)
            assert reload.status_code == 200
            if time.monotonic() > until:
                break
    probe.assert_responsive()


def test_a_config_bomb_saved_as_nodes_yaml(server: Server) -> None:
    config = server.config
    assert isinstance(config, Path)
    with HealthProbe(server.url) as probe, httpx.Client(timeout=10) as client:
        config.write_text(BOMB)
        deadline = time.monotonic() + 10
        while client.get(f"{server.url}/_emulator/health").json()["status"] != "degraded":
            assert time.monotonic() < deadline, "the watcher never reported the bomb"
            time.sleep(0.05)
        error = client.get(f"{server.url}/_emulator/health").json()["config"]["error"]
        assert "aliases here expand to more than 100,000 values" in error
        # The last good config still answers.
        chat = client.post(f"{server.url}/nodes/echo/chat", json={"content": "still here"})
        assert chat.json()["content"] == "still here"
        config.write_text(CONFIG)
        while client.get(f"{server.url}/_emulator/health").json()["status"] != "ok":
            assert time.monotonic() < deadline + 10, "the good config was never reloaded"
            time.sleep(0.05)
    probe.assert_responsive()
