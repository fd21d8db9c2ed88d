"""The fast path answers a plain JSON response and a chat stream exactly as Litestar would: same
bytes, same headers in the same order; anything else is left to Litestar."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.testing import TestClient
from litestar.types import Message

from emulator.apis.framing import EventStream, JsonReply, send_chunks
from emulator.fastpath import _plain_json, _plain_stream


def _litestar_messages(response: Response[Any]) -> list[Message]:
    scope: Any = {
        "type": "http",
        "method": "POST",
        "path": "/chat",
        "headers": [],
        "query_string": b"",
        "state": {},
    }
    request: Request[Any, Any, Any] = Request(scope)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.disconnect"}

    asyncio.run(response.to_asgi_response(app=None, request=request)(scope, receive, send))
    return sent


@pytest.mark.parametrize(
    "response",
    [
        Response({"threadId": "thr_1", "content": 'héllo \u2028 "quoted"', "usage": {"n": 1}}),
        Response([1, "two", None, True, 2.5]),
        Response({"error": "slow down"}, status_code=429, headers={"Retry-After": "3"}),
        Response(
            {"ok": True},
            status_code=201,
            headers={"X-Idempotent-Replay": "true", "X-RateLimit-Limit": "10"},
        ),
        Response({"a": 1}, media_type="application/json"),
        Response({"own": 1}, headers={"Content-Type": "application/problem+json"}),
        JsonReply({"threadId": "thr_1", "n": [1, 2]}, headers={"X-Idempotent-Replay": "true"}),
        JsonReply({"error": None}, status_code=201),
    ],
)
def test_a_plain_json_response_is_sent_as_litestar_sends_it(
    response: Response[Any],
) -> None:
    fast = _plain_json(response)
    assert fast is not None
    start, body = fast
    expected = _litestar_messages(response)
    assert [start, {"type": "http.response.body", "body": body, "more_body": False}] == expected


@pytest.mark.parametrize(
    "response",
    [
        Response("plain text", media_type="text/plain"),
        Response(b"raw bytes"),
        Response({"a": 1}, cookies=[Cookie(key="k", value="v")]),
        Response(None, status_code=204),
        Response({"a": 1}, media_type="application/x-ndjson"),
    ],
)
def test_anything_else_is_left_to_litestar(response: Response[Any]) -> None:
    assert _plain_json(response) is None


def _stream(media_type: str, headers: dict[str, str] | None = None) -> EventStream:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"event: start\ndata: {}\n\n", b"event: token\ndata: {}\n\n"):
            yield chunk

    return EventStream(chunks(), media_type=media_type, headers=headers, status_code=200)


def _messages_of(stream: EventStream, *, fast: bool) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        never = asyncio.Event()

        async def receive() -> Any:
            await never.wait()  # the client stays

        if fast:
            start = _plain_stream(stream)
            assert start is not None
            await send(start)
            await send_chunks(stream.iterator, send, receive)
        else:
            scope: Any = {"type": "http", "method": "POST", "path": "/", "headers": []}
            await stream.to_asgi_response(app=None, request=Request(scope))(scope, receive, send)

    asyncio.run(run())
    return sent


@pytest.mark.parametrize(
    ("media_type", "headers"),
    [
        ("text/event-stream", {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}),
        ("application/x-ndjson", {"X-Trace-Id": "trc_1"}),
        ("text/plain", None),
    ],
)
def test_a_chat_stream_is_sent_as_litestar_sends_it(
    media_type: str, headers: dict[str, str] | None
) -> None:
    fast = _messages_of(_stream(media_type, headers), fast=True)
    assert fast == _messages_of(_stream(media_type, headers), fast=False)
    assert fast[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_an_error_the_dispatcher_does_not_catch_gets_litestar_s_500_not_a_dropped_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from emulator.apis import base
    from tests.conftest import make_app

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(base, "hints_for", broken)  # before the dispatcher's own try
    with TestClient(make_app(), base_url="http://127.0.0.1:8080") as client:
        answer = client.post("/nodes/echo/chat", json={"content": "hi"})
    assert answer.status_code == 500
    assert answer.json() == {"status_code": 500, "detail": "Internal Server Error"}
    assert answer.headers["x-request-id"]


def test_a_json_reply_is_what_a_response_of_the_same_content_is() -> None:
    content, headers = {"content": "hi", "usage": {"inputTokens": 1}}, {"X-Trace-Id": "trc_1"}
    reply = _litestar_messages(JsonReply(content, headers=headers))
    assert reply == _litestar_messages(Response(content, status_code=200, headers=headers))
