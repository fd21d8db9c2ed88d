"""`faults` through HTTP: injected statuses, mid-stream errors and disconnects in each API."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.apis.realism import APIS, serve, thread_count
from tests.conftest import CONTROL

MESSAGE = "one two three four five"
INTERNAL = "Internal server error"

# Each API's mid-stream error frame, as sent (sentientone's trace_id normalized).
ERROR_FRAMES: dict[str, str] = {
    "interlocute": 'event: error\ndata: {"error":{"code":"internal_error","message":"'
    + INTERNAL
    + '"}}',
    "agent-slug": '{"data": null, "error": {"name": "InternalServerError", "message": "'
    + INTERNAL
    + '", "details": {}}}',
    "sentientone": '{"type":"error","error":{"code":"internal_error","message":"'
    + INTERNAL
    + '"},"trace_id":"trc_*"}',
    "widget": '{"type":"error","error":"' + INTERNAL + '"}',
}

# Each API's 429 body for an injected `status: 429` (as its own rate limit looks).
LIMITED: dict[str, Any] = {
    "interlocute": {"error": {"code": "rate_limited", "message": "Rate limit exceeded"}},
    "agent-slug": {
        "data": None,
        "error": {"name": "RateLimitError", "message": "Rate limit exceeded", "details": {}},
    },
    "sentientone": {"error": {"code": "rate_limited", "message": "Rate limit exceeded"}},
    "widget": {"error": "Too many requests"},
}


def without_trace(text: str) -> str:
    return re.sub(r'"trace_id":"trc_[a-z0-9]+"', '"trace_id":"trc_*"', text)


def stored(client: Any) -> list[dict[str, Any]]:
    """The messages of the only thread."""
    (summary,) = client.get("/_emulator/threads").json()["threads"]
    messages: list[dict[str, Any]] = client.get(f"/_emulator/threads/{summary['id']}").json()[
        "messages"
    ]
    return messages


@pytest.mark.parametrize("api", APIS)
def test_stream_error_after_sends_n_tokens_then_the_apis_error_frame(api: str) -> None:
    spec = APIS[api]
    with serve(api, "faults: [{stream_error_after: 3}]") as client:
        response = spec.stream(client, MESSAGE)
        assert response.status_code == 200
        tokens, after = spec.frames(response.text)
        assert tokens == ["one", " two", " three"]
        assert [without_trace(frame) for frame in after] == [ERROR_FRAMES[api]]
        user, assistant = stored(client)
        assert user["content"] == MESSAGE
        assert assistant["content"] == "one two three"
        assert assistant["interrupted"] == "stream_error"


@pytest.mark.parametrize("api", APIS)
def test_disconnect_after_sends_n_tokens_and_no_terminator(api: str) -> None:
    spec = APIS[api]
    with serve(api, "faults: [{disconnect_after: 2}]") as client:
        response = spec.stream(client, MESSAGE)
        tokens, after = spec.frames(response.text)
        assert tokens == ["one", " two"]
        assert after == []  # no done, no [DONE], no error
        assert stored(client)[1]["interrupted"] == "disconnect"


@pytest.mark.parametrize("api", [api for api in APIS if APIS[api].chat_path])
def test_a_non_streaming_request_hit_by_a_stream_fault_is_a_500(api: str) -> None:
    spec = APIS[api]
    for fault in ("stream_error_after: 1", "disconnect_after: 1"):
        with serve(api, f"faults: [{{{fault}}}]") as client:
            response = spec.chat(client, MESSAGE)
            assert response.status_code == 500
            assert "Retry-After" not in response.headers


@pytest.mark.parametrize("api", APIS)
def test_an_injected_429_looks_like_the_apis_rate_limit(api: str) -> None:
    spec = APIS[api]
    with serve(api, "faults: [{status: 429, retry_after: 3}]") as client:
        response = spec.stream(client, MESSAGE)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        body = response.json()
        body.pop("trace_id", None)
        assert body == LIMITED[api]
        assert thread_count(client) == 0


def test_an_injected_429_without_retry_after_still_says_when() -> None:
    spec = APIS["interlocute"]
    with serve("interlocute", "faults: [{status: 429}]") as client:
        assert spec.chat(client, MESSAGE).headers["Retry-After"] == "1"


def test_a_status_fault_answers_before_anything_is_stored() -> None:
    spec = APIS["interlocute"]
    with serve("interlocute", "faults: [{status: 503, message: Down for maintenance}]") as client:
        response = spec.chat(client, MESSAGE)
        assert response.status_code == 503
        assert response.json()["error"]["message"] == "Down for maintenance"
        assert thread_count(client) == 0


def test_times_fails_the_first_n_matching_requests_then_succeeds() -> None:
    spec = APIS["widget"]
    with serve("widget", "faults: [{status: 503, times: 2}]") as client:
        statuses = [spec.stream(client, MESSAGE).status_code for _ in range(4)]
        assert statuses == [503, 503, 200, 200]
        client.post("/_emulator/reset", headers=CONTROL)
        assert spec.stream(client, MESSAGE).status_code == 503


def rated_statuses() -> list[int]:
    spec = APIS["agent-slug"]
    with serve("agent-slug", "faults: [{status: 500, rate: 0.5}]", seed=42) as client:
        return [spec.chat(client, MESSAGE).status_code for _ in range(20)]


def test_a_rate_with_a_seed_fails_the_same_requests_every_run() -> None:
    first = rated_statuses()
    assert first == rated_statuses()
    assert set(first) == {200, 500}


def test_when_restricts_a_fault_to_matching_messages_and_turns() -> None:
    spec = APIS["interlocute"]
    faults = """
faults:
  - {when: {contains: boom}, status: 500}
  - {when: {turn: 2}, status: 502}
"""
    with serve("interlocute", faults) as client:
        assert spec.chat(client, "all good").status_code == 200
        assert spec.chat(client, "BOOM please").status_code == 500
        thread = spec.chat(client, "first").json()["threadId"]
        second = {"content": "second", "threadId": thread}
        response = client.post("/nodes/n/chat", json=second, headers=spec.headers())
        assert response.status_code == 502


def test_the_first_matching_fault_that_fires_applies() -> None:
    spec = APIS["interlocute"]
    faults = "faults:\n  - {status: 503, times: 1}\n  - {status: 504, times: 1}"
    with serve("interlocute", faults) as client:
        statuses = [spec.chat(client, MESSAGE).status_code for _ in range(3)]
        assert statuses == [503, 504, 200]


def test_an_interrupted_turn_keeps_the_thread_consistent() -> None:
    spec = APIS["interlocute"]
    with serve("interlocute", "faults: [{stream_error_after: 1, times: 1}]") as client:
        first = spec.stream(client, MESSAGE)
        start = json.loads(first.text.split("\n\n")[0].split("data: ", 1)[1])
        follow = {"content": "again", "threadId": start["threadId"]}
        response = client.post("/nodes/n/chat", json=follow, headers=spec.headers())
        assert response.json()["content"] == "again"
        contents = [m["content"] for m in stored(client)]
        assert contents == [MESSAGE, "one", "again", "again"]
