"""Runtime overrides against a real server: `delay_ms` stalls before the first byte, so a
client's timeout fires, while the server keeps answering everyone else."""

from __future__ import annotations

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


def test_delay_ms_trips_a_client_timeout_before_any_byte(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        put = client.put(
            "/_emulator/nodes/support/overrides",
            json={"latency": {"delay_ms": 3000}},
            headers={"X-Emulator-Client": "pytest"},
        )
        assert put.status_code == 200
        # Not even the status line arrives within the client's timeout.
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                "/nodes/support/chat/stream",
                json={"content": "hi"},
                headers=AUTH,
                timeout=httpx.Timeout(10, read=0.3),
            )
        # Other nodes and the control plane answer meanwhile.
        assert client.post("/nodes/echo/chat", json={"content": "hi"}).status_code == 200
        client.delete("/_emulator/nodes/support/overrides", headers={"X-Emulator-Client": "x"})
        answer = client.post("/nodes/support/chat", json={"content": "hi"}, headers=AUTH)
        assert answer.status_code == 200
