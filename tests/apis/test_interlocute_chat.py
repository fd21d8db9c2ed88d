"""interlocute POST /chat and /chat/stream through HTTP (seed 000, SPEC section 6)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from httpx_sse import connect_sse
from litestar.testing import TestClient

from tests.conftest import AUTH, make_jwt

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def chat(client: TestClient[Any], content: Any, **extra: Any) -> Any:
    headers = {**AUTH, **extra.pop("headers", {})}
    return client.post("/chat", json={"content": content, **extra}, headers=headers)


def test_send_a_message_returns_the_documented_body(client: TestClient[Any]) -> None:
    response = chat(client, "What are your hours?")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"threadId", "messageId", "content", "model", "usage", "createdAt"}
    assert body["threadId"].startswith("thr_")
    assert body["messageId"].startswith("msg_")
    assert body["content"] == "We are open 9 to 5."
    assert body["model"] == "gpt-4o"
    assert body["usage"] == {"inputTokens": 5, "outputTokens": 7}
    assert ISO.match(body["createdAt"])
    assert response.headers["content-type"].startswith("application/json")


def test_continue_a_thread_walks_replies_and_turns(client: TestClient[Any]) -> None:
    first = chat(client, "Where is order ORD-42?").json()
    thread = first["threadId"]
    second = chat(client, "And order ORD-42 now?", threadId=thread).json()
    third = chat(client, "anything", threadId=thread).json()
    fourth = chat(client, "order ORD-7 please", threadId=thread).json()
    assert first["content"] == "Order ORD-42 ships today."
    assert second["content"] == "Still today."
    assert third["content"] == "Third turn for Support Assistant."
    assert fourth["content"] == "Still today."  # the last reply repeats
    assert {second["threadId"], third["threadId"], fourth["threadId"]} == {thread}


def test_fallback_echoes_the_message(client: TestClient[Any]) -> None:
    assert chat(client, "Tell me about that.").json()["content"] == "Tell me about that."


def test_unknown_thread_is_thread_not_found(client: TestClient[Any]) -> None:
    response = chat(client, "hi", threadId="thr_nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "thread_not_found", "message": "Thread 'thr_nope' not found"}
    }


def test_a_thread_of_one_node_is_unknown_to_another(client: TestClient[Any]) -> None:
    thread = chat(client, "hi").json()["threadId"]
    response = client.post("/nodes/echo/chat", json={"content": "x", "threadId": thread})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "thread_not_found"


def test_stream_sends_start_tokens_done(client: TestClient[Any]) -> None:
    with connect_sse(
        client, "POST", "/chat/stream", json={"content": "What are your hours?"}, headers={**AUTH}
    ) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        events = [(e.event, json.loads(e.data)) for e in source.iter_sse()]
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done"
    assert set(names[1:-1]) == {"token"}
    tokens = [data["content"] for name, data in events if name == "token"]
    assert tokens == ["We", " are", " open", " 9", " to", " 5", "."]
    start, done = events[0][1], events[-1][1]
    assert set(start) == {"threadId", "messageId"}
    assert done == {
        "threadId": start["threadId"],
        "messageId": start["messageId"],
        "content": "We are open 9 to 5.",
        "usage": {"inputTokens": 5, "outputTokens": 7},
    }


def test_stream_wire_bytes_are_plain_sse(client: TestClient[Any]) -> None:
    response = client.post("/chat/stream", json={"content": "hours"}, headers=AUTH)
    frames = response.text.split("\n\n")
    assert frames[0].startswith('event: start\ndata: {"threadId":"thr_')
    assert frames[1] == 'event: token\ndata: {"content":"We"}'
    assert frames[-1] == ""


def test_stream_as_ndjson(client: TestClient[Any]) -> None:
    response = client.post(
        "/chat/stream",
        json={"content": "hours"},
        headers={**AUTH, "Accept": "application/x-ndjson"},
    )
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["type"] for line in lines] == ["start"] + ["token"] * 7 + ["done"]
    assert "".join(line["content"] for line in lines if line["type"] == "token") == (
        "We are open 9 to 5."
    )


def test_stream_as_plain_text(client: TestClient[Any]) -> None:
    response = client.post(
        "/chat/stream", json={"content": "hours"}, headers={**AUTH, "Accept": "text/plain"}
    )
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "We are open 9 to 5."


def test_stream_continues_a_thread_and_stores_it(client: TestClient[Any]) -> None:
    thread = chat(client, "hi").json()["threadId"]
    with connect_sse(
        client,
        "POST",
        "/chat/stream",
        json={"content": "hours", "threadId": thread},
        headers={**AUTH},
    ) as source:
        events = list(source.iter_sse())
    assert json.loads(events[0].data)["threadId"] == thread
    stored = client.get(f"/_emulator/threads/{thread}").json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 2
    assert stored["messages"][-1]["content"] == "We are open 9 to 5."


def test_request_id_is_generated_or_echoed(client: TestClient[Any]) -> None:
    generated = chat(client, "hi")
    assert generated.headers["x-request-id"].startswith("req_")
    echoed = chat(client, "hi", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    error = client.post("/chat", content=b"{", headers={**AUTH, "X-Request-Id": "e-1"})
    assert error.headers["x-request-id"] == "e-1"


class TestIdempotency:
    def test_same_key_and_body_replays_without_a_new_message(self, client: TestClient[Any]) -> None:
        headers = {"X-Idempotency-Key": "key-1"}
        first = chat(client, "Where is order ORD-1?", headers=headers)
        again = chat(client, "Where is order ORD-1?", headers=headers)
        assert again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["x-idempotent-replay"] == "true"
        thread = client.get(f"/_emulator/threads/{first.json()['threadId']}").json()
        assert len(thread["messages"]) == 2

    def test_same_key_other_body_is_409(self, client: TestClient[Any]) -> None:
        chat(client, "one", headers={"X-Idempotency-Key": "key-2"})
        response = chat(client, "two", headers={"X-Idempotency-Key": "key-2"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_conflict"

    def test_the_same_json_spelled_otherwise_replays(self, client: TestClient[Any]) -> None:
        headers = {**AUTH, "X-Idempotency-Key": "key-4", "Content-Type": "application/json"}
        first = client.post("/chat", content=b'{"content":"idem","threadId":null}', headers=headers)
        again = client.post(
            "/chat", content=b'{ "threadId": null,\n  "content": "idem" }', headers=headers
        )
        assert again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["x-idempotent-replay"] == "true"

    def test_a_replay_by_another_path_form_is_the_same_endpoint(
        self, client: TestClient[Any]
    ) -> None:
        headers = {**AUTH, "X-Idempotency-Key": "key-5"}
        first = client.post("/chat", json={"content": "idem"}, headers=headers)
        again = client.post("/nodes/support/chat", json={"content": "idem"}, headers=headers)
        assert again.json() == first.json()

    def test_the_409_says_the_endpoint_differs(self, client: TestClient[Any]) -> None:
        headers = {**AUTH, "X-Idempotency-Key": "key-6"}
        client.post("/chat/stream", json={"content": "idem"}, headers=headers)
        response = client.post("/chat", json={"content": "idem"}, headers=headers)
        assert response.status_code == 409
        assert response.json() == {
            "error": {
                "code": "idempotency_conflict",
                "message": "This idempotency key was already used on another endpoint "
                "(POST /chat/stream, not POST /chat)",
            }
        }

    def test_the_409_says_the_body_differs(self, client: TestClient[Any]) -> None:
        headers = {**AUTH, "X-Idempotency-Key": "key-7"}
        client.post("/chat", json={"content": "idem"}, headers=headers)
        response = client.post("/chat", json={"content": "idem!"}, headers=headers)
        assert response.status_code == 409
        assert response.json()["error"]["message"] == (
            "This idempotency key was already used with a different request body"
        )

    def test_a_stream_replays_its_events(self, client: TestClient[Any]) -> None:
        headers = {**AUTH, "X-Idempotency-Key": "key-3"}
        first = client.post("/chat/stream", json={"content": "hours"}, headers=headers)
        again = client.post("/chat/stream", json={"content": "hours"}, headers=headers)
        assert again.text == first.text
        threads = client.get("/_emulator/threads", params={"node": "support"}).json()["threads"]
        assert [t["messageCount"] for t in threads] == [2]


class TestAuth:
    def test_missing_credentials(self, client: TestClient[Any]) -> None:
        response = client.post("/chat", json={"content": "hi"})
        assert response.status_code == 401
        assert response.json() == {
            "error": {"code": "unauthorized", "message": "Missing credentials"}
        }

    @pytest.mark.parametrize("key", ["sk-wrong", "sk-slow"])
    def test_wrong_key_or_another_nodes_key(self, client: TestClient[Any], key: str) -> None:
        response = client.post("/chat", json={"content": "hi"}, headers=_bearer(key))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"

    def test_valid_jwt(self, client: TestClient[Any]) -> None:
        token = make_jwt(sub="user-1", exp=4102444800)
        response = client.post("/chat", json={"content": "hi"}, headers=_bearer(token))
        assert response.status_code == 200

    @pytest.mark.parametrize(
        ("claims", "message"),
        [
            ({"secret": "other-secret"}, "Invalid token"),
            ({"exp": 1000}, "Token has expired"),
            ({"aud": "billing"}, "Token audience is not accepted by this node"),
            ({"nbf": 4102444800}, "Token is not yet valid"),
        ],
    )
    def test_rejected_jwts(
        self, client: TestClient[Any], claims: dict[str, Any], message: str
    ) -> None:
        response = client.post("/chat", json={"content": "hi"}, headers=_bearer(make_jwt(**claims)))
        assert response.status_code == 401
        assert response.json()["error"]["message"] == message

    def test_alg_none_is_rejected(self, client: TestClient[Any]) -> None:
        import jwt

        token = jwt.encode({"aud": "support"}, None, algorithm="none")
        response = client.post("/chat", json={"content": "hi"}, headers=_bearer(token))
        assert response.status_code == 401

    def test_anonymous_node_needs_no_credentials(self, client: TestClient[Any]) -> None:
        response = client.post("/nodes/echo/chat", json={"content": "hi"})
        assert response.status_code == 200
        assert response.json()["content"] == "You said: hi"

    def test_any_key_mode(self, client: TestClient[Any]) -> None:
        url = "/nodes/anykey/chat"
        assert client.post(url, json={"content": "hi"}, headers=_bearer("dummy")).status_code == 200
        assert client.post(url, json={"content": "hi"}).status_code == 401
        # a key configured for another node never opens this one
        assert client.post(url, json={"content": "hi"}, headers=AUTH).status_code == 401


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
