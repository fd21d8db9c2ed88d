"""sentientone POST /v1/chat/stream and POST /v1/chat through HTTP (seed 003, SPEC section 6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.golden import APIS_CONFIG, normalize, send, sse_data

AUTH = {"X-Api-Key": "sk-sentient-123", "X-Agent-Id": "researcher"}
STREAM = "/v1/chat/stream"
WARRANTY = {
    "index": 0,
    "id": "doc-warranty",
    "title": "Warranty terms",
    "url": "https://example.com/warranty",
    "source_type": "web",
    "score": 1.0,
    "snippet": "All devices carry a two-year warranty covering manufacturing defects.",
}
BATTERIES = {
    "index": 0,
    "id": "doc-batteries",
    "title": "Battery care",
    "url": None,
    "source_type": "document",
    "score": 0.6667,
    "snippet": "Keep batteries between 20% and 80% charge and away from heat to extend their life.",
}


def err(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}, "trace_id": "trc_*"}


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(data) for data in sse_data(text)]


INVALID = "Request body must be valid JSON"
# (path, headers, body, status, the body or the stream's events); ids normalized
GOLDEN: dict[str, tuple[str, dict[str, str], Any, int, Any]] = {
    "seed hello": (
        STREAM,
        AUTH,
        {"message": "Hello, agent!"},
        200,
        [
            {"type": "meta", "conversation_id": "conv-*", "trace_id": "trc_*"},
            {"type": "delta", "content": "Hello"},
            {"type": "delta", "content": ","},
            {"type": "delta", "content": " agent"},
            {"type": "delta", "content": "!"},
            {"type": "done", "conversation_id": "conv-*", "trace_id": "trc_*"},
        ],
    ),
    "rule sources": (
        STREAM,
        AUTH,
        {"message": "What warranty?"},
        200,
        [
            {"type": "meta", "conversation_id": "conv-*", "trace_id": "trc_*"},
            {"type": "sources", "sources": [WARRANTY]},
            {"type": "delta", "content": "Two"},
            {"type": "delta", "content": " years"},
            {"type": "delta", "content": "."},
            {"type": "done", "conversation_id": "conv-*", "trace_id": "trc_*"},
        ],
    ),
    "ranked knowledge": (
        STREAM,
        AUTH,
        {"message": "keep batteries cool"},
        200,
        [
            {"type": "meta", "conversation_id": "conv-*", "trace_id": "trc_*"},
            {"type": "sources", "sources": [BATTERIES]},
            *({"type": "delta", "content": t} for t in ["keep", " batteries", " cool"]),
            {"type": "done", "conversation_id": "conv-*", "trace_id": "trc_*"},
        ],
    ),
    "non-streaming": (
        "/v1/chat",
        AUTH,
        {"message": "warranty?"},
        200,
        {
            "conversation_id": "conv-*",
            "trace_id": "trc_*",
            "content": "Two years.",
            "sources": [WARRANTY],
        },
    ),
    "malformed JSON": (STREAM, AUTH, b"{", 400, err("invalid_request", INVALID)),
    "not an object": (
        STREAM,
        AUTH,
        b'"hi"',
        400,
        err("invalid_request", "Request body must be a JSON object"),
    ),
    "missing message": (STREAM, AUTH, {}, 400, err("invalid_request", "'message' is required")),
    "message not a string": (
        STREAM,
        AUTH,
        {"message": ["hi"]},
        400,
        err("invalid_request", "'message' must be a string"),
    ),
    "empty message": (
        "/v1/chat",
        AUTH,
        {"message": ""},
        400,
        err("invalid_request", "'message' must not be empty"),
    ),
    "conversation_id not a string": (
        STREAM,
        AUTH,
        {"message": "hi", "conversation_id": 1},
        400,
        err("invalid_request", "'conversation_id' must be a string"),
    ),
    "unknown conversation": (
        STREAM,
        AUTH,
        {"message": "hi", "conversation_id": "conv-abc123"},
        404,
        err("conversation_not_found", "Conversation 'conv-abc123' not found"),
    ),
    "unknown agent id": (
        STREAM,
        {**AUTH, "X-Agent-Id": "nope"},
        {"message": "hi"},
        404,
        err("agent_not_found", "Agent 'nope' not found"),
    ),
    "missing agent id and an unknown key": (  # issue 9 item 9: a bad key is a 401
        STREAM,
        {"X-Api-Key": "sk-who"},
        {"message": "hi", "conversation_id": None},
        401,
        err("unauthorized", "Invalid API key"),
    ),
    "missing key": (
        STREAM,
        {"X-Agent-Id": "researcher"},
        {"message": "hi"},
        401,
        err("unauthorized", "Missing credentials"),
    ),
    "agent id and key of different agents": (
        "/v1/chat",
        {"X-Api-Key": "sk-analyst-123", "X-Agent-Id": "researcher"},
        {"message": "hi"},
        401,
        err("unauthorized", "Invalid API key"),
    ),
}


@pytest.fixture
def client(make_client: Callable[..., TestClient[Any]]) -> TestClient[Any]:
    return make_client(APIS_CONFIG)


@pytest.mark.parametrize("case", GOLDEN.values(), ids=GOLDEN.keys())
def test_golden(client: TestClient[Any], case: tuple[str, dict[str, str], Any, int, Any]) -> None:
    path, headers, body, status, expected = case
    response = send(client, path, headers, body)
    streamed = response.headers["content-type"].startswith("text/event-stream")
    seen = events(response.text) if streamed else response.json()
    assert (response.status_code, normalize(seen)) == (status, expected)
    # every response has X-Trace-Id, the same as in its body or events
    trace_ids = {e["trace_id"] for e in seen if "trace_id" in e} if streamed else {seen["trace_id"]}
    assert trace_ids == {response.headers["x-trace-id"]}


def test_stream_wire_bytes_are_compact_data_lines(client: TestClient[Any]) -> None:
    response = client.post(STREAM, json={"message": "Hi"}, headers=AUTH)
    conversation, trace = (
        json.loads(sse_data(response.text)[0])[k] for k in ("conversation_id", "trace_id")
    )
    ids = f'"conversation_id":"{conversation}","trace_id":"{trace}"'
    assert response.text == (
        f'data: {{"type":"meta",{ids}}}\n\n'
        'data: {"type":"delta","content":"Hi"}\n\n'
        f'data: {{"type":"done",{ids}}}\n\n'
    )


def test_multi_turn_continues_with_conversation_id(client: TestClient[Any]) -> None:
    first = events(
        client.post(STREAM, json={"message": "Hi, my order ORD-1234"}, headers=AUTH).text
    )
    conversation = first[0]["conversation_id"]
    body = {"conversation_id": conversation, "message": "What carrier is it on?"}
    second = events(client.post(STREAM, json=body, headers=AUTH).text)
    assert second[0]["conversation_id"] == second[-1]["conversation_id"] == conversation
    assert first[0]["trace_id"] != second[0]["trace_id"]
    thread = client.get(f"/_emulator/threads/{conversation}").json()
    assert len(thread["messages"]) == 4


def test_a_conversation_of_one_agent_is_unknown_to_another(client: TestClient[Any]) -> None:
    answer = client.post("/v1/chat", json={"message": "hi"}, headers=AUTH).json()
    other = {"X-Api-Key": "sk-analyst-123", "X-Agent-Id": "analyst"}
    body = {"message": "hi", "conversation_id": answer["conversation_id"]}
    response = client.post("/v1/chat", json=body, headers=other)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "conversation_not_found"


def test_missing_agent_id_resolves_by_the_key(client: TestClient[Any]) -> None:
    response = client.post(
        "/v1/chat", json={"message": "hi"}, headers={"X-Api-Key": "sk-analyst-123"}
    )
    assert response.status_code == 200
    assert response.json()["content"] == "hi"


def test_agent_id_may_be_the_slugified_name(client: TestClient[Any]) -> None:
    headers = {**AUTH, "X-Agent-Id": "research-assistant"}
    assert client.post("/v1/chat", json={"message": "x"}, headers=headers).status_code == 200


def test_body_over_one_mebibyte_is_413_with_a_trace_id(client: TestClient[Any]) -> None:
    body = json.dumps({"message": "a" * (1024 * 1024)})
    response = client.post(
        STREAM, content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["trace_id"] == response.headers["x-trace-id"]


def test_wrong_method_is_405_with_a_trace_id(client: TestClient[Any]) -> None:
    response = client.get("/v1/chat", headers=AUTH)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["x-trace-id"] == response.json()["trace_id"]
