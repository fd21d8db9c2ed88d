"""Runtime overrides (`/_emulator/nodes/{alias}/overrides`): faults, latency, delay_ms and rate
limits changed without editing nodes.yaml, and X-RateLimit-* on a rate-limited node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.loader import load_config, parse_config
from emulator.config.reloader import Reloader
from emulator.core.engine import Engine
from emulator.core.store import TinyStore
from tests.conftest import AUTH, TEST_CONFIG, FakeClock

PYTEST = {"X-Emulator-Client": "pytest"}
URL = "/_emulator/nodes/support/overrides"
NONE = {"faults": [], "latency": None, "rate_limit": None}


class SleepLog(FakeClock):
    """A fake clock that remembers every sleep."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def clock() -> SleepLog:
    return SleepLog()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "nodes.yaml"
    file.write_text(TEST_CONFIG)
    return file


@pytest.fixture
def client(path: Path, clock: SleepLog) -> Iterator[TestClient[Any]]:
    engine = Engine(load_config(path), TinyStore(None), seed=7, clock=clock)
    app = build_app(engine, reloader=Reloader(engine, path))
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client


def put(client: TestClient[Any], body: Any, url: str = URL) -> Any:
    return client.put(url, json=body, headers=PYTEST)


def chat(client: TestClient[Any], content: str = "hi", stream: bool = False) -> Any:
    path = "/nodes/support/chat/stream" if stream else "/nodes/support/chat"
    return client.post(path, json={"content": content}, headers=AUTH)


def test_no_overrides_at_first_and_unknown_nodes_are_404(client: TestClient[Any]) -> None:
    assert client.get(URL).json() == NONE
    missing = "/_emulator/nodes/nope/overrides"
    for response in (
        client.get(missing),
        put(client, NONE, missing),
        client.delete(missing, headers=PYTEST),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_next_three_requests_fail_then_the_node_answers_again(client: TestClient[Any]) -> None:
    answer = put(client, {"faults": [{"status": 503, "times": 3}]})
    assert answer.status_code == 200
    assert answer.json() == {**NONE, "faults": [{"status": 503, "times": 3}]}
    assert client.get(URL).json() == answer.json()
    statuses = [chat(client).status_code for _ in range(4)]
    assert statuses == [503, 503, 503, 200]
    # Put again: its count starts afresh.
    put(client, {"faults": [{"status": 429, "retry_after": 7, "times": 1}]})
    refused = chat(client)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "7"
    assert chat(client).status_code == 200


def test_cut_streams_after_some_tokens(client: TestClient[Any]) -> None:
    put(client, {"faults": [{"stream_error_after": 2, "when": {"contains": "hours"}}]})
    assert chat(client, "hi", stream=True).text.count("event: token") == 1  # no match: whole
    cut = chat(client, "what hours", stream=True).text
    assert cut.count("event: token") == 2 and "event: error" in cut and "event: done" not in cut


def test_latency_and_delay_ms_replace_the_nodes_own(
    client: TestClient[Any], clock: SleepLog
) -> None:
    latency = {"first_token_ms": 800, "tokens_per_second": 10, "jitter": 0, "delay_ms": 1500}
    assert put(client, {"latency": latency}).json()["latency"] == latency
    chat(client, "one two three", stream=True)
    # The stall before the first byte, then 800 ms to the first of three tokens, then 100 ms
    # per token.
    assert clock.sleeps == [1.5, 0.8, 0.1, 0.1]
    assert client.delete(URL, headers=PYTEST).json() == NONE
    clock.sleeps.clear()
    chat(client, "one two three", stream=True)
    assert clock.sleeps == []  # the node's own latency: none


def test_rate_limit_override_and_its_headers(client: TestClient[Any], clock: SleepLog) -> None:
    assert "X-RateLimit-Limit" not in chat(client).headers  # no limit on this node
    put(client, {"rate_limit": {"requests": 2, "per_seconds": 60}})
    answers = [chat(client) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["2", "2", "2"]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert [a.headers["X-RateLimit-Reset"] for a in answers] == ["30", "60", "60"]
    assert answers[2].headers["Retry-After"] == "30"
    clock.advance(30)
    refilled = chat(client)
    assert (refilled.status_code, refilled.headers["X-RateLimit-Remaining"]) == (200, "0")
    # Every response of the node carries them, a refused credential's too.
    denied = client.post("/nodes/support/chat", json={"content": "hi"})
    assert denied.status_code == 401 and denied.headers["X-RateLimit-Limit"] == "2"


def test_bad_overrides_are_422_with_line_and_column_and_change_nothing(
    client: TestClient[Any],
) -> None:
    put(client, {"faults": [{"status": 503}]})
    for body in (
        '{"faults": [{"status": 99}]}',
        '{"latency": {"first_tokn_ms": 5}}',
        '{"rate_limit": {"requests": 0, "per_seconds": 1}}',
        '{"faults": [{"status": 503, "stream_error_after": 2}]}',
        '{"fault": []}',
        "[1, 2]",
        "{",
        "",
    ):
        response = client.put(URL, content=body, headers=PYTEST)
        assert response.status_code == 422, body
        errors = response.json()["errors"]
        assert errors and all(e["message"] and e["line"] and e["column"] for e in errors)
    bad = client.put(URL, content='{\n  "latency": {"jitter": 2}\n}', headers=PYTEST).json()
    assert (bad["errors"][0]["line"], bad["errors"][0]["column"]) == (2, 25)
    assert (
        "did you mean 'first_token_ms'"
        in client.put(URL, content='{"latency": {"first_tokn_ms": 5}}', headers=PYTEST).json()[
            "errors"
        ][0]["message"]
    )
    assert client.get(URL).json()["faults"] == [{"status": 503}]


def test_reset_clears_overrides(client: TestClient[Any]) -> None:
    put(client, {"faults": [{"status": 503}]})
    client.post("/_emulator/reset", headers=PYTEST)
    assert client.get(URL).json() == NONE
    assert chat(client).status_code == 200


def test_overrides_outlive_a_reload_while_the_node_exists(
    client: TestClient[Any], path: Path
) -> None:
    put(client, {"faults": [{"status": 503}]})
    put(client, {"faults": [{"status": 500}]}, "/_emulator/nodes/echo/overrides")
    path.write_text(TEST_CONFIG.replace("We are open 9 to 5.", "Open late.").split("  echo:")[0])
    assert client.post("/_emulator/reload", headers=PYTEST).json()["applied"] is True
    assert client.get(URL).json()["faults"] == [{"status": 503}]
    assert chat(client).status_code == 503
    path.write_text(TEST_CONFIG)  # echo is back, without the overrides it had
    client.post("/_emulator/reload", headers=PYTEST)
    assert client.get("/_emulator/nodes/echo/overrides").json() == NONE


def test_delay_ms_in_nodes_yaml_stalls_before_the_first_byte() -> None:
    text = TEST_CONFIG.replace(
        "latency: {first_token_ms: 0, tokens_per_second: 20}",
        "latency: {first_token_ms: 0, tokens_per_second: 0, delay_ms: 250}",
    )
    clock = SleepLog()
    engine = Engine(parse_config(text, "test.yaml"), TinyStore(None), clock=clock)
    assert engine.config.nodes["slow"].latency.delay_ms == 250
    with TestClient(build_app(engine), base_url="http://127.0.0.1:8080") as client:
        response = client.post(
            "/nodes/slow/chat", json={"content": "hi"}, headers={"Authorization": "Bearer sk-slow"}
        )
        assert response.status_code == 200
    assert clock.sleeps == [0.25]


def test_cors_exposes_the_rate_limit_headers(client: TestClient[Any]) -> None:
    response = chat(client)
    response = client.post(
        "/nodes/support/chat",
        json={"content": "hi"},
        headers={**AUTH, "Origin": "http://localhost:5173"},
    )
    exposed = response.headers["Access-Control-Expose-Headers"].lower()
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert name in exposed
