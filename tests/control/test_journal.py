"""GET /_emulator/journal: the recent requests, capped, without bodies or credentials."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.loader import parse_config
from emulator.core.engine import Engine
from emulator.core.requestlog import RequestLog
from emulator.core.store import TinyStore
from tests.apis.golden import APIS_CONFIG
from tests.conftest import AUTH, CONTROL, TEST_CONFIG

JOURNAL = "/_emulator/journal"


class SteppingClock:
    """Now stands still; each monotonic reading is a quarter second after the last."""

    def __init__(self) -> None:
        self.ticks = 0

    def now(self) -> datetime:
        return datetime(2026, 1, 1, 9, 30, tzinfo=UTC)

    def monotonic(self) -> float:
        self.ticks += 1
        return self.ticks * 0.25

    async def sleep(self, seconds: float) -> None:
        return None


@pytest.fixture
def apis(make_client: Callable[..., TestClient[Any]]) -> TestClient[Any]:
    return make_client(APIS_CONFIG)


@pytest.fixture
def small() -> Iterator[TestClient[Any]]:
    """An app whose journal keeps only three entries."""
    engine = Engine(parse_config(TEST_CONFIG, "test.yaml"), TinyStore(None), seed=7)
    app = build_app(engine, request_log=RequestLog(3))
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client


def entries(client: TestClient[Any], **params: Any) -> list[dict[str, Any]]:
    response = client.get(JOURNAL, params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["entries"]
    return found


def test_each_api_s_requests_are_recorded_with_their_node(apis: TestClient[Any]) -> None:
    sent = [
        apis.post("/nodes/support/chat", json={"content": "hi"}, headers=AUTH),
        apis.post(
            "/v1/api/chat/customer-support",
            json={"message": "hi"},
            headers={"Authorization": "Bearer sk-slug-123"},
        ),
        apis.post(
            "/v1/chat/stream",
            json={"message": "hi"},
            headers={"X-Api-Key": "sk-sentient-123", "X-Agent-Id": "researcher"},
        ),
        apis.post(
            "/nodes/widget/chat",
            json={"sessionId": "u", "message": "hi"},
            headers={"x-api-key": "wk-widget-123"},
        ),
    ]
    assert [r.status_code for r in sent] == [200, 200, 200, 200]
    seen = entries(apis)
    assert [(e["method"], e["path"], e["status"], e["node"], e["api"]) for e in seen] == [
        ("POST", "/nodes/support/chat", 200, "support", "interlocute"),
        ("POST", "/v1/api/chat/customer-support", 200, "helpdesk", "agent-slug"),
        ("POST", "/v1/chat/stream", 200, "researcher", "sentientone"),
        ("POST", "/nodes/widget/chat", 200, "widget", "widget"),
    ]
    assert [e["requestId"] for e in seen] == [r.headers["x-request-id"] for r in sent]
    assert [e["streaming"] for e in seen] == [False, False, True, True]


def test_entries_take_time_and_duration_from_the_engine_clock() -> None:
    engine = Engine(
        parse_config(TEST_CONFIG, "test.yaml"), TinyStore(None), clock=SteppingClock(), seed=7
    )
    with TestClient(build_app(engine), base_url="http://127.0.0.1:8080") as client:
        client.post("/nodes/echo/chat", json={"content": "hi"}, headers={"X-Request-Id": "mine"})
        (entry,) = entries(client)
    assert entry == {
        "requestId": "mine",
        "at": "2026-01-01T09:30:00.000Z",
        "method": "POST",
        "path": "/nodes/echo/chat",
        "status": 200,
        "durationMs": 250.0,
        "node": "echo",
        "api": "interlocute",
        "streaming": False,
    }


def test_errors_are_recorded(client: TestClient[Any]) -> None:
    client.post("/chat", json={"content": "hi"}, headers={"Authorization": "Bearer wrong"})
    client.post("/nodes/nobody/chat", json={"content": "hi"})
    unauthorized, unknown = entries(client)
    assert (unauthorized["status"], unauthorized["node"]) == (401, "support")
    assert (unknown["status"], unknown["node"], unknown["api"]) == (404, None, None)


def test_control_plane_and_preflights_are_not_recorded(client: TestClient[Any]) -> None:
    client.get("/_emulator/health")
    client.get("/_emulator/threads")
    client.get(JOURNAL)
    client.options(
        "/chat",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert entries(client) == []


def test_the_cap_drops_the_oldest(small: TestClient[Any]) -> None:
    ids = [f"r{i}" for i in range(3 + 5)]
    for rid in ids:
        small.post("/nodes/echo/chat", json={"content": "hi"}, headers={"X-Request-Id": rid})
    body = small.get(JOURNAL).json()
    assert body["capacity"] == 3
    assert [e["requestId"] for e in body["entries"]] == ids[-3:]


def test_limit_and_node_filter(client: TestClient[Any]) -> None:
    for i in range(3):
        client.post("/chat", json={"content": "hi"}, headers={**AUTH, "X-Request-Id": f"s{i}"})
        client.post("/nodes/echo/chat", json={"content": "hi"}, headers={"X-Request-Id": f"e{i}"})
    assert len(entries(client)) == 6
    assert [e["requestId"] for e in entries(client, limit=2)] == ["s2", "e2"]
    assert [e["requestId"] for e in entries(client, node="echo")] == ["e0", "e1", "e2"]
    assert [e["requestId"] for e in entries(client, node="echo", limit=1)] == ["e2"]
    assert entries(client, node="nobody") == []


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "501", ""])
def test_bad_limit_is_400(client: TestClient[Any], limit: str) -> None:
    response = client.get(JOURNAL, params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_limit_may_not_exceed_a_small_cap(small: TestClient[Any]) -> None:
    assert small.get(JOURNAL, params={"limit": "3"}).status_code == 200
    assert small.get(JOURNAL, params={"limit": "4"}).status_code == 400


def test_reset_clears_the_journal(client: TestClient[Any]) -> None:
    client.post("/chat", json={"content": "hi"}, headers=AUTH)
    assert len(entries(client)) == 1
    client.post("/_emulator/reset", headers=CONTROL)
    assert entries(client) == []


def test_no_credentials_or_bodies_in_the_journal(client: TestClient[Any]) -> None:
    client.post("/chat", json={"content": "my secret message"}, headers=AUTH)
    client.post("/chat", json={"content": "hi"}, headers={"Authorization": "Bearer sk-leaked-999"})
    text = client.get(JOURNAL).text
    for secret in ("sk-support-123", "sk-leaked-999", "Bearer", "my secret message"):
        assert secret not in text


def test_the_readme_example_shows_a_real_entry(client: TestClient[Any]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = json.loads(
        readme.split("/_emulator/journal?node=support&limit=1'\n", 1)[1].split("\n")[0]
    )
    client.post("/chat", json={"content": "hi"}, headers=AUTH)
    real = client.get(JOURNAL, params={"node": "support", "limit": 1}).json()
    assert real.keys() == example.keys()
    (documented,), (entry,) = example["entries"], real["entries"]
    assert entry.keys() == documented.keys()
    varying = {"requestId", "at", "durationMs"}
    assert {k: v for k, v in entry.items() if k not in varying} == {
        k: v for k, v in documented.items() if k not in varying
    }


def test_unmatched_routes_and_wrong_methods_get_ids_and_are_recorded(
    client: TestClient[Any],
) -> None:
    missing = client.get("/nope", headers={"X-Request-Id": "r-404"})
    wrong = client.get("/chat", headers={"X-Request-Id": "r-405"})
    assert (missing.status_code, missing.headers["x-request-id"]) == (404, "r-404")
    assert (wrong.status_code, wrong.headers["x-request-id"]) == (405, "r-405")
    assert "x-emulator-generation" in wrong.headers
    entries = client.get("/_emulator/journal").json()["entries"]
    assert [(e["requestId"], e["status"], e["node"]) for e in entries] == [
        ("r-404", 404, None),
        ("r-405", 405, None),
    ]
