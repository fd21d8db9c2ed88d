"""SIGKILL a real `emulator serve` mid-burst and mid-stream: nothing acknowledged is lost,
nothing unacknowledged is half-stored, and a retry with the same idempotency key stores a turn
at most once."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import TestClient

from emulator.core.store import TinyStore
from tests.conftest import make_app
from tests.e2e.server import Server

CONFIG = """
version: 1
nodes:
  echo:
    api: interlocute
    model: echo
    auth: {anonymous: true}
  slow:
    api: interlocute
    model: lorem
    auth: {anonymous: true}
    latency: {first_token_ms: 0, tokens_per_second: 20}
"""
CLIENTS = 6


class Burst:
    """Clients each sending turns on their own thread, with idempotency keys, until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: list[tuple[str, str]] = []  # (thread id, content) answered 200
        self.sent: list[tuple[str | None, str]] = []  # every request sent: (thread id, content)
        self.failures: list[str] = []  # any answer but 200 before the kill
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(CLIENTS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=20)

    def _client(self, index: int) -> None:
        thread_id: str | None = None
        with httpx.Client(base_url=self.url, timeout=5) as client:
            for n in range(10_000):
                if self.stop.is_set():
                    return
                content = f"client {index} turn {n}"
                body = {"content": content, **({"threadId": thread_id} if thread_id else {})}
                self.sent.append((thread_id, content))
                try:
                    response = client.post(
                        "/nodes/echo/chat", json=body, headers={"X-Idempotency-Key": content}
                    )
                except httpx.TransportError:
                    return  # killed
                if response.status_code != 200:
                    self.failures.append(response.text)
                    return
                thread_id = response.json()["threadId"]
                self.acked.append((thread_id, content))


def stream_until_two_tokens(url: str) -> str:
    """Start a slow stream; return its thread id once two tokens arrived (it is still going)."""
    seen = 0
    with (
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("POST", "/nodes/slow/chat/stream", json={"content": "tell me"}) as stream,
    ):
        for line in stream.iter_lines():
            if line.startswith("data:") and '"threadId"' in line:
                thread_id: str = json.loads(line[5:])["threadId"]
            if line == "event: token":
                seen += 1
            if seen == 2:
                return thread_id
    raise AssertionError("the stream ended early")


def test_sigkill_mid_burst_and_mid_stream(tmp_path: Path) -> None:
    (tmp_path / "nodes.yaml").write_text(CONFIG)
    data = tmp_path / "data"
    server = Server(tmp_path / "nodes.yaml", "--data", str(data)).start()
    burst = Burst(server.url)
    try:
        burst.start()
        deadline = time.monotonic() + 10
        while len(burst.acked) < 30 and time.monotonic() < deadline:
            time.sleep(0.01)
        streamed = stream_until_two_tokens(server.url)
        server.kill()  # SIGKILL, with turns in flight
    finally:
        server.kill()
        burst.join()
    assert len(burst.acked) >= 30
    assert burst.failures == []

    with TinyStore(data) as store:
        threads = {t.id: store.messages(t.id) for t in store.list_threads()}
    for messages in threads.values():
        # Nothing half-stored: every thread is whole turns, a question then its answer.
        assert messages
        assert [m.role for m in messages] == ["user", "assistant"] * (len(messages) // 2)
    stored = {(tid, m.content) for tid, messages in threads.items() for m in messages}
    assert set(burst.acked) <= stored  # nothing acknowledged lost
    # The stream's turn was stored whole before its first byte was sent.
    [question, answer] = threads[streamed]
    assert question.content == "tell me"
    assert len(answer.content.split()) > 2
    assert "interrupted" not in answer.extra

    # Retrying the requests in flight, and the last acknowledged ones, with their keys stores
    # nothing twice: each turn's question appears exactly once.
    acked = {content for _, content in burst.acked}
    retries = [sent for sent in burst.sent if sent[1] not in acked] + burst.sent[-CLIENTS * 2 :]
    with TinyStore(data) as store, TestClient(make_app(CONFIG, store=store)) as client:
        for thread_id, content in retries:
            body: dict[str, Any] = {"content": content}
            if thread_id is not None:
                body["threadId"] = thread_id
            response = client.post(
                "/nodes/echo/chat", json=body, headers={"X-Idempotency-Key": content}
            )
            assert response.status_code == 200
        questions = [
            m.content
            for t in store.list_threads("echo")
            for m in store.messages(t.id)
            if m.role == "user"
        ]
    assert sorted(questions) == sorted(content for _, content in burst.sent)
