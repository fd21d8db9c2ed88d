"""agent-slug POST /v1/api/chat/{slug} through HTTP (seed 002, SPEC section 6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.golden import APIS_CONFIG, normalize, send, sse_data

AUTH = {"Authorization": "Bearer sk-slug-123"}
PATH = "/v1/api/chat/customer-support"


def err(name: str, message: str) -> dict[str, Any]:
    return {"data": None, "error": {"name": name, "message": message, "details": {}}}


def ok(response: str, tokens: int, model: str = "gpt-4") -> dict[str, Any]:
    metadata = {"model": model, "tokens": tokens}
    data = {"response": response, "conversationId": "conv_*", "metadata": metadata}
    return {"data": data, "error": None}


INVALID = "Request body must be valid JSON"
# (path, headers, body, status, body the client sees); ids normalized by `normalize`
GOLDEN: dict[str, tuple[str, dict[str, str], Any, int, Any]] = {
    "seed basic chat": (
        "/v1/api/chat/helpdesk",
        AUTH,
        {"message": "What are your business hours?", "stream": False},
        200,
        ok("What are your business hours?", 12),
    ),
    "slug is the slugified name": (
        PATH,
        AUTH,
        {"message": "password?"},
        200,
        ok("Use the reset link.", 7),
    ),
    "null conversationId starts one": (
        PATH,
        AUTH,
        {"message": "hi", "conversationId": None},
        200,
        ok("hi", 2),
    ),
    "malformed JSON": (PATH, AUTH, b"{", 400, err("ValidationError", INVALID)),
    "empty body": (PATH, AUTH, b"", 400, err("ValidationError", INVALID)),
    "not an object": (
        PATH,
        AUTH,
        b"[1]",
        400,
        err("ValidationError", "Request body must be a JSON object"),
    ),
    "missing message": (PATH, AUTH, {}, 400, err("ValidationError", "Message field is required")),
    "null message": (
        PATH,
        AUTH,
        {"message": None},
        400,
        err("ValidationError", "Message field is required"),
    ),
    "message not a string": (
        PATH,
        AUTH,
        {"message": 42},
        400,
        err("ValidationError", "Message field must be a string"),
    ),
    "blank message": (
        PATH,
        AUTH,
        {"message": "  "},
        400,
        err("ValidationError", "Message field is required"),
    ),
    "stream not a boolean": (
        PATH,
        AUTH,
        {"message": "hi", "stream": "true"},
        400,
        err("ValidationError", "Stream field must be a boolean"),
    ),
    "conversationId not a string": (
        PATH,
        AUTH,
        {"message": "hi", "conversationId": 5},
        400,
        err("ValidationError", "ConversationId field must be a string or null"),
    ),
    "unknown conversation": (
        PATH,
        AUTH,
        {"message": "hi", "conversationId": "conv_abc123"},
        404,
        err("NotFoundError", "Conversation 'conv_abc123' not found"),
    ),
    "unknown slug": (
        "/v1/api/chat/support-agent",
        AUTH,
        {"message": "hi"},
        404,
        err("NotFoundError", "Agent with slug 'support-agent' not found"),
    ),
    "missing token": (
        PATH,
        {},
        {"message": "hi"},
        401,
        err("UnauthorizedError", "Invalid or missing API token"),
    ),
    "wrong token": (
        PATH,
        {"Authorization": "Bearer nope"},
        {"message": "hi"},
        401,
        err("UnauthorizedError", "Invalid or missing API token"),
    ),
    "another agent's token": (
        PATH,
        {"Authorization": "Bearer sk-sales-123"},
        {"message": "hi"},
        401,
        err("UnauthorizedError", "Invalid or missing API token"),
    ),
}


@pytest.fixture
def client(make_client: Callable[..., TestClient[Any]]) -> TestClient[Any]:
    return make_client(APIS_CONFIG)


@pytest.mark.parametrize("case", GOLDEN.values(), ids=GOLDEN.keys())
def test_golden(client: TestClient[Any], case: tuple[str, dict[str, str], Any, int, Any]) -> None:
    path, headers, body, status, expected = case
    response = send(client, path, headers, body)
    assert (response.status_code, normalize(response.json())) == (status, expected)
    assert response.headers["content-type"].startswith("application/json")


def test_continue_a_conversation(client: TestClient[Any]) -> None:
    first = client.post(PATH, json={"message": "hello"}, headers=AUTH).json()["data"]
    body = {"message": "Can you elaborate on that?", "conversationId": first["conversationId"]}
    second = client.post(PATH, json=body, headers=AUTH).json()["data"]
    assert second["conversationId"] == first["conversationId"]
    assert second["response"] == "Turn two of Customer Support."


def test_stream_is_sse_chunks_then_done(client: TestClient[Any]) -> None:
    response = client.post(PATH, json={"message": "Hello there!", "stream": True}, headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-conversation-id"].startswith("conv_")
    assert sse_data(response.text) == [
        '{"chunk": "Hello"}',
        '{"chunk": " there"}',
        '{"chunk": "!"}',
        "[DONE]",
    ]


def test_stream_continues_the_conversation_of_its_header(client: TestClient[Any]) -> None:
    streamed = client.post(PATH, json={"message": "one", "stream": True}, headers=AUTH)
    conversation = streamed.headers["x-conversation-id"]
    body = {"message": "two", "conversationId": conversation}
    again = client.post(PATH, json=body, headers=AUTH).json()["data"]
    assert again == {
        "response": "Turn two of Customer Support.",
        "conversationId": conversation,
        "metadata": {"model": "gpt-4", "tokens": 7},
    }
    thread = client.get(f"/_emulator/threads/{conversation}").json()
    assert [m["content"] for m in thread["messages"]] == [
        "one",
        "one",
        "two",
        "Turn two of Customer Support.",
    ]


def test_stream_errors_are_the_json_envelope(client: TestClient[Any]) -> None:
    response = client.post(PATH, json={"stream": True}, headers=AUTH)
    assert response.status_code == 400
    assert response.json() == err("ValidationError", "Message field is required")


def test_a_conversation_of_one_agent_is_unknown_to_another(client: TestClient[Any]) -> None:
    first = client.post(PATH, json={"message": "hi"}, headers=AUTH).json()["data"]
    body = {"message": "hi", "conversationId": first["conversationId"]}
    other = client.post(
        "/v1/api/chat/sales-bot", json=body, headers={"Authorization": "Bearer sk-sales-123"}
    )
    assert other.status_code == 404
    assert other.json()["error"]["name"] == "NotFoundError"


def test_node_by_path_prefix_or_subdomain(client: TestClient[Any]) -> None:
    by_path = client.post(
        "/nodes/helpdesk/v1/api/chat/helpdesk", json={"message": "x"}, headers=AUTH
    )
    by_host = client.post(
        "/v1/api/chat/helpdesk",
        json={"message": "x"},
        headers={**AUTH, "Host": "helpdesk.localhost:8080"},
    )
    assert by_path.json()["data"]["response"] == by_host.json()["data"]["response"] == "x"


def test_body_over_one_mebibyte_is_413(client: TestClient[Any]) -> None:
    body = json.dumps({"message": "a" * (1024 * 1024)})
    response = client.post(PATH, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == err(
        "PayloadTooLargeError", "Request body is larger than 1048576 bytes"
    )


def test_wrong_method_is_405(client: TestClient[Any]) -> None:
    response = client.get(PATH, headers=AUTH)
    assert response.status_code == 405
    assert response.json()["error"]["name"] == "MethodNotAllowedError"
    assert response.json()["data"] is None


def test_request_id_is_echoed(client: TestClient[Any]) -> None:
    response = client.post(PATH, json={"message": "x"}, headers={**AUTH, "X-Request-Id": "abc"})
    assert response.headers["x-request-id"] == "abc"


FAULTY = """
version: 1
nodes:
  broken:
    api: agent-slug
    name: Broken
    model: echo
    auth: {api_keys: [sk-broken]}
    faults:
      - {when: {contains: status}, status: 500}
      - {when: {contains: stream}, stream_error_after: 1}
"""


@pytest.mark.parametrize(
    ("message", "stream"),
    [("status fault", False), ("stream fault", False), ("stream fault", True)],
)
def test_every_500_reads_the_seeds_text(
    make_client: Callable[..., TestClient[Any]], message: str, stream: bool
) -> None:
    """Issue 9 item 12: a status fault once said "Internal Server Error", a stream fault
    "Internal server error"; both say the latter, as the seeds spell it."""
    client = make_client(FAULTY)
    body = {"message": message, "stream": stream}
    response = client.post(
        "/v1/api/chat/broken", json=body, headers={"Authorization": "Bearer sk-broken"}
    )
    expected = err("InternalServerError", "Internal server error")
    if stream:
        assert response.status_code == 200
        assert json.loads(sse_data(response.text)[-1]) == expected
    else:
        assert (response.status_code, response.json()) == (500, expected)


def test_an_unknown_route_under_v1_api_is_agent_slugs_404(client: TestClient[Any]) -> None:
    response = client.post("/v1/api/chats/helpdesk", json={"message": "hi"}, headers=AUTH)
    assert (response.status_code, response.json()) == (
        404,
        err("NotFoundError", "No route for POST /v1/api/chats/helpdesk"),
    )
