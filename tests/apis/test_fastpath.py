"""The fast path answers a plain JSON response exactly as Litestar would: same bytes, same
headers in the same order; anything else is left to Litestar."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.types import Message

from emulator.fastpath import _plain_json


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
