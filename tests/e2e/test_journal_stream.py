"""GET /_emulator/journal/stream against a real server: each completed request is pushed as
`event: request`, and an open stream does not hold up a shutdown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, TEST_CONFIG
from tests.e2e.server import Server

pytestmark = pytest.mark.subprocess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "nodes.yaml").write_text(TEST_CONFIG)
    with Server(tmp_path / "nodes.yaml", "--memory", "--no-reload") as running:
        yield running


def events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) per SSE event; comments as ("comment", text)."""
    event = ""
    for line in lines:
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, line.removeprefix("data: ")


def test_each_completed_request_is_pushed_and_shutdown_ends_the_stream(server: Server) -> None:
    with (
        httpx.Client(base_url=server.url, timeout=10) as client,
        client.stream("GET", "/_emulator/journal/stream") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        received = events(stream.iter_lines())
        assert next(received) == ("comment", "connected")

        sent = []
        for path in ("/nodes/support/chat", "/nodes/support/chat/stream", "/nodes/nope/chat"):
            answer = client.post(path, json={"content": "hours"}, headers=AUTH)
            sent.append((answer.headers["x-request-id"], path, answer.status_code))
        pushed = []
        for event, data in received:
            assert event == "request"
            entry = json.loads(data)
            pushed.append((entry["requestId"], entry["path"], entry["status"]))
            if len(pushed) == len(sent):
                break
        assert pushed == sent
        # Control-plane calls are not journaled, so not pushed either.
        client.get("/_emulator/health")

        server.stop()  # SIGTERM with the stream still open: it ends cleanly
        assert list(received) == []
