"""`rate_limit` through HTTP: a token bucket per node and credential, on a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apis.realism import APIS, serve, thread_count
from tests.conftest import CONTROL, FakeClock

LIMIT = "rate_limit: {requests: 2, per_seconds: 60}"

# Each API's own 429 body (sentientone's trace_id is checked apart).
BODIES: dict[str, Any] = {
    "interlocute": {"error": {"code": "rate_limited", "message": "Rate limit exceeded"}},
    "agent-slug": {
        "data": None,
        "error": {"name": "RateLimitError", "message": "Rate limit exceeded", "details": {}},
    },
    "sentientone": {"error": {"code": "rate_limited", "message": "Rate limit exceeded"}},
    "widget": {"error": "Too many requests"},
}


def limited_body(response: Any) -> Any:
    body = response.json()
    if "trace_id" in body:
        assert body.pop("trace_id") == response.headers["X-Trace-Id"]
    return body


@pytest.mark.parametrize("api", APIS)
def test_over_the_limit_is_the_apis_429_until_a_token_refills(api: str) -> None:
    clock = FakeClock()
    spec = APIS[api]
    with serve(api, LIMIT, clock=clock) as client:
        assert [spec.stream(client, "hi").status_code for _ in range(2)] == [200, 200]
        refused = spec.stream(client, "hi")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "30"  # one token every 30 s
        assert limited_body(refused) == BODIES[api]
        clock.advance(29)
        assert spec.stream(client, "hi").headers["Retry-After"] == "1"
        clock.advance(1)
        assert spec.stream(client, "hi").status_code == 200
        assert spec.stream(client, "hi").status_code == 429


@pytest.mark.parametrize("api", APIS)
def test_a_refused_request_stores_nothing(api: str) -> None:
    spec = APIS[api]
    with serve(api, "rate_limit: {requests: 1, per_seconds: 10}", clock=FakeClock()) as client:
        assert spec.stream(client, "first").status_code == 200
        assert thread_count(client) == 1
        for _ in range(3):
            assert spec.stream(client, "again").status_code == 429
        assert thread_count(client) == 1
        threads = client.get("/_emulator/threads").json()["threads"]
        assert threads[0]["messageCount"] == 2


def test_each_credential_has_its_own_bucket() -> None:
    spec = APIS["interlocute"]
    with serve("interlocute", "rate_limit: {requests: 1, per_seconds: 60}") as client:
        assert spec.chat(client, "hi", key="a").status_code == 200
        assert spec.chat(client, "hi", key="a").status_code == 429
        assert spec.chat(client, "hi", key="b").status_code == 200
        assert spec.chat(client, "hi", key="b").status_code == 429


def test_anonymous_callers_share_one_bucket_per_node() -> None:
    block = "auth: {anonymous: true}\nrate_limit: {requests: 1, per_seconds: 60}"
    with serve("interlocute", block) as client:
        assert client.post("/nodes/n/chat", json={"content": "hi"}).status_code == 200
        assert client.post("/nodes/n/chat", json={"content": "hi"}).status_code == 429


def test_chit_reads_are_not_metered() -> None:
    spec = APIS["interlocute"]
    with serve("interlocute", "rate_limit: {requests: 1, per_seconds: 60}") as client:
        for _ in range(3):
            assert client.get("/nodes/n/chit", headers=spec.headers()).status_code == 200
        assert spec.chat(client, "hi").status_code == 200
        assert spec.chat(client, "hi").status_code == 429


def test_reset_refills_the_buckets() -> None:
    spec = APIS["interlocute"]
    with serve("interlocute", "rate_limit: {requests: 1, per_seconds: 60}") as client:
        assert spec.chat(client, "hi").status_code == 200
        assert spec.chat(client, "hi").status_code == 429
        client.post("/_emulator/reset", headers=CONTROL)
        assert spec.chat(client, "hi").status_code == 200


def test_a_reload_that_changes_the_limit_starts_afresh() -> None:
    spec = APIS["interlocute"]
    with serve("interlocute", "rate_limit: {requests: 1, per_seconds: 60}") as client:
        assert spec.chat(client, "hi").status_code == 200
        assert spec.chat(client, "hi").status_code == 429
        new = "version: 1\nnodes:\n  n: {api: interlocute, name: N, model: echo,\n"
        new += "      rate_limit: {requests: 2, per_seconds: 60}}\n"
        assert (
            client.put("/_emulator/config", headers=CONTROL, content=new).json()["applied"] is True
        )
        assert [spec.chat(client, "hi").status_code for _ in range(3)] == [200, 200, 429]
