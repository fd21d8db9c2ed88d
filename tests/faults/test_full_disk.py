"""A full disk (a real, small tmpfs): a turn is stored whole or not at all, a retry with the
same idempotency key stores it once, nothing leaves an empty thread, and health says why."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.core.store import TinyStore
from tests.conftest import make_app
from tests.core.test_store import thread, turn
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


def test_a_compaction_that_runs_out_of_disk_loses_nothing(
    disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = disk / "data"
    with TinyStore(data) as store:
        store.create_thread(thread("thr_1"))
        for n in range(150):  # about 100 kB of journal, under the default threshold
            store.append_messages(turn("thr_1", n))
    filler = fill(disk, leave_bytes=40_000)  # room for appends, not for a snapshot

    store = TinyStore(data, compact_min_bytes=16_384)
    store.append_messages(turn("thr_1", 150))  # crosses the threshold: compaction starts
    deadline = time.monotonic() + 10  # it runs on its thread
    while "compaction failed" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "store compaction failed, will retry later" in caplog.text
    assert "No space left on device" in caplog.text
    _wait_for_compactions()
    for n in range(151, 160):  # appends go on, and do not retry the compaction each time
        store.append_messages(turn("thr_1", n))
    _wait_for_compactions()
    assert caplog.text.count("store compaction failed") == 1  # backed off: no retry yet
    assert store.write_error is None
    filler.unlink()
    store.compact()
    store.close()

    assert sorted(p.name for p in data.iterdir()) == [".lock", "threads.journal", "threads.json"]
    with TinyStore(data) as reopened:
        assert reopened.message_count("thr_1") == 320


def _wait_for_compactions() -> None:
    """Until no compaction thread runs (each ends within the test's few kB of work)."""
    deadline = time.monotonic() + 10
    while any(t.name == "store-compaction" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a compaction did not end"
        time.sleep(0.01)
