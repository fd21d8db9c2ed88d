"""widget POST /v1/chat/stream and its alias POST /chat through HTTP (seed 004, SPEC section 6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.golden import APIS_CONFIG, ndjson, normalize, send

KEY = {"x-api-key": "wk-widget-123"}
ALT = {"x-widget-api-key": "wk-widget-123"}
PATHS = ["/v1/chat/stream", "/chat"]
INVALID = {"error": "Invalid request payload"}
UNAUTHORIZED = {"error": "Unauthorized"}
NOT_FOUND = {"error": "Not found"}
WIDGET = {"Host": "widget.localhost:8080"}
SESSION_FORM = "^[A-Za-z0-9._:-]{1,128}$"

# (headers, body, status, the NDJSON events or the error body); ids normalized
GOLDEN: dict[str, tuple[dict[str, str], Any, int, Any]] = {
    "seed example": (
        KEY,
        {"sessionId": "user-123", "message": "We are here"},
        200,
        [
            {"type": "start", "conversationId": "*"},
            *({"type": "token", "token": t} for t in ["Echo", ":", " We", " are", " here"]),
            {"type": "done", "message": "Echo: We are here", "conversationId": "*"},
        ],
    ),
    "alternative key header": (
        ALT,
        {"sessionId": "a.b:c_d-1", "message": "x"},
        200,
        [
            {"type": "start", "conversationId": "*"},
            *({"type": "token", "token": t} for t in ["Echo", ":", " x"]),
            {"type": "done", "message": "Echo: x", "conversationId": "*"},
        ],
    ),
    "session id of 128 characters": (
        KEY,
        {"sessionId": "s" * 128, "message": "x"},
        200,
        [
            {"type": "start", "conversationId": "*"},
            *({"type": "token", "token": t} for t in ["Echo", ":", " x"]),
            {"type": "done", "message": "Echo: x", "conversationId": "*"},
        ],
    ),
    "malformed JSON": (KEY, b"{", 400, INVALID),
    "empty body": (KEY, b"", 400, INVALID),
    "not an object": (KEY, b"[]", 400, INVALID),
    "missing message": (KEY, {"sessionId": "u1"}, 400, INVALID),
    "message not a string": (KEY, {"sessionId": "u1", "message": 1}, 400, INVALID),
    "empty message": (KEY, {"sessionId": "u1", "message": ""}, 400, INVALID),
    "missing sessionId": (KEY, {"message": "hi"}, 400, INVALID),
    "sessionId not a string": (KEY, {"sessionId": 123, "message": "hi"}, 400, INVALID),
    "sessionId empty": (KEY, {"sessionId": "", "message": "hi"}, 400, INVALID),
    "sessionId too long": (KEY, {"sessionId": "s" * 129, "message": "hi"}, 400, INVALID),
    "sessionId with a space": (KEY, {"sessionId": "user 123", "message": "hi"}, 400, INVALID),
    "sessionId with a slash": (KEY, {"sessionId": "user/123", "message": "hi"}, 400, INVALID),
    "sessionId with a newline": (KEY, {"sessionId": "user\n", "message": "hi"}, 400, INVALID),
    "missing key": (WIDGET, {"sessionId": "u1", "message": "hi"}, 401, UNAUTHORIZED),
    "wrong key": (
        {**WIDGET, "x-api-key": "nope"},
        {"sessionId": "u1", "message": "hi"},
        401,
        UNAUTHORIZED,
    ),
    # Issue 9 item 9: on a URL two widget nodes share, no key is a 401, not a 404.
    "no key and no node named": ({}, {"sessionId": "u1", "message": "hi"}, 401, UNAUTHORIZED),
    "another widget's key": (
        {**WIDGET, "x-api-key": "wk-kiosk-123"},
        {"sessionId": "u1", "message": "hi"},
        401,
        UNAUTHORIZED,
    ),
}


@pytest.fixture
def client(make_client: Callable[..., TestClient[Any]]) -> TestClient[Any]:
    return make_client(APIS_CONFIG)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", GOLDEN.values(), ids=GOLDEN.keys())
def test_golden(
    client: TestClient[Any], path: str, case: tuple[dict[str, str], Any, int, Any]
) -> None:
    headers, body, status, expected = case
    response = send(client, path, headers, body)
    streamed = response.headers["content-type"] == "application/x-ndjson"
    seen = ndjson(response.text) if streamed else response.json()
    assert (response.status_code, normalize(seen)) == (status, expected)


def test_stream_wire_bytes(client: TestClient[Any]) -> None:
    response = client.post("/chat", json={"sessionId": "u", "message": "hi"}, headers=KEY)
    conversation = response.text.split('"conversationId":"')[1].split('"')[0]
    assert response.text == (
        f'{{"type":"start","conversationId":"{conversation}"}}\n'
        '{"type":"token","token":"Echo"}\n{"type":"token","token":":"}\n'
        '{"type":"token","token":" hi"}\n'
        f'{{"type":"done","message":"Echo: hi","conversationId":"{conversation}"}}\n'
    )


def conversation_of(client: TestClient[Any], path: str, session: str, headers: Any = KEY) -> str:
    response = client.post(path, json={"sessionId": session, "message": "hi"}, headers=headers)
    return str(ndjson(response.text)[0]["conversationId"])


def test_same_session_continues_on_both_paths(client: TestClient[Any]) -> None:
    first = conversation_of(client, "/v1/chat/stream", "user-123")
    again = conversation_of(client, "/chat", "user-123", ALT)
    other = conversation_of(client, "/chat", "user-456")
    assert first == again != other
    thread = client.get(f"/_emulator/threads/{first}").json()
    assert [m["role"] for m in thread["messages"]] == ["user", "assistant"] * 2


def test_one_session_id_on_two_widgets_is_two_conversations(client: TestClient[Any]) -> None:
    mine = conversation_of(client, "/chat", "user-123")
    theirs = conversation_of(client, "/chat", "user-123", {"x-api-key": "wk-kiosk-123"})
    assert mine != theirs


def test_body_over_one_mebibyte_is_413(client: TestClient[Any]) -> None:
    body = json.dumps({"sessionId": "u", "message": "a" * (1024 * 1024)})
    response = client.post(
        "/chat", content=body, headers={**KEY, "Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (413, {"error": "Payload too large"})


def test_unknown_widget_is_404(client: TestClient[Any]) -> None:
    response = client.post(
        "/nodes/nope/v1/chat/stream", json={"sessionId": "u", "message": "x"}, headers=KEY
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
