"""A full disk (a real, small tmpfs): a turn is stored whole or not at all, a retry with the
same idempotency key stores it once, nothing leaves an empty thread, and health says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.core.store import TinyStore
from tests.conftest import make_app
from tests.faults.mounts import fill, tmpfs

CHAT = "/nodes/echo/chat"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", size_kib=1024) as mount:
        yield mount


@pytest.fixture
def client(disk: Path) -> Iterator[TestClient[Any]]:
    store = TinyStore(disk / "data")
    with TestClient(make_app(store=store), base_url="http://127.0.0.1:8080") as client:
        yield client
    store.close()


def threads(client: TestClient[Any]) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = client.get("/_emulator/threads").json()["threads"]
    return listed


def test_a_turn_and_its_idempotency_record_are_stored_together_or_not_at_all(
    disk: Path, client: TestClient[Any]
) -> None:
    first = client.post(CHAT, json={"content": "warm up"})
    assert first.status_code == 200
    # The echo reply repeats the 40 kB message: the messages alone would fit in the space
    # left, but not the messages plus the idempotency record (which holds the reply again).
    message = "word " * 8_000
    filler = fill(disk, leave_bytes=120_000)
    headers = {"X-Idempotency-Key": "retry-me"}

    failed = client.post(CHAT, json={"content": message}, headers=headers)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "internal_error"
    assert [t["id"] for t in threads(client)] == [first.json()["threadId"]]
    health = client.get("/_emulator/health").json()
    assert health["status"] == "degraded"
    assert "No space left on device" in health["store"]["error"]

    filler.unlink()
    retried = client.post(CHAT, json={"content": message}, headers=headers)
    again = client.post(CHAT, json={"content": message}, headers=headers)
    assert retried.status_code == again.status_code == 200
    assert retried.json() == again.json()
    thread_id = retried.json()["threadId"]
    stored = client.get(f"/_emulator/threads/{thread_id}").json()["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert client.get("/_emulator/health").json()["status"] == "ok"


def test_failures_on_a_full_disk_leave_no_empty_threads(
    disk: Path, client: TestClient[Any]
) -> None:
    fill(disk, leave_bytes=0)
    for n in range(5):
        response = client.post(CHAT, json={"content": f"hello {n} " * 2_000})
        assert response.status_code == 500
    assert threads(client) == []
    # Reopened from disk, the store holds nothing either.
    client.app.state.engine.store.close()
    with TinyStore(disk / "data") as reopened:
        assert reopened.list_threads() == []
