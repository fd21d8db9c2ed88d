"""Issue 9 item 10: every streaming response's Content-Type, exactly, per API and per Accept
(interlocute's text/plain stream once said `charset=utf-8` twice)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.golden import APIS_CONFIG
from tests.conftest import make_app

SSE = "text/event-stream; charset=utf-8"
NDJSON = "application/x-ndjson"
PLAIN = "text/plain; charset=utf-8"
ACCEPTS = [
    None,
    "text/event-stream",
    "application/x-ndjson",
    "text/plain",
    "*/*",
    "application/json",
    "text/plain;q=0.5, application/x-ndjson",
    "text/plain;q=0, text/event-stream;q=0.1",
]

# api -> (path, headers, body, {Accept: Content-Type} where it differs from `default`, default)
STREAMS: dict[str, tuple[str, dict[str, str], Any, dict[str | None, str], str]] = {
    "interlocute": (
        "/chat/stream",
        {"Authorization": "Bearer sk-support-123"},
        {"content": "hi"},
        {
            "application/x-ndjson": NDJSON,
            "text/plain": PLAIN,
            "text/plain;q=0.5, application/x-ndjson": NDJSON,  # the higher q-value
        },
        SSE,
    ),
    "agent-slug": (
        "/v1/api/chat/helpdesk",
        {"Authorization": "Bearer sk-slug-123"},
        {"message": "hi", "stream": True},
        {},
        SSE,
    ),
    "sentientone": (
        "/v1/chat/stream",
        {"X-Api-Key": "sk-sentient-123"},
        {"message": "hi"},
        {},
        SSE,
    ),
    "widget": (
        "/v1/chat/stream",
        {"x-api-key": "wk-widget-123"},
        {"sessionId": "u1", "message": "hi"},
        {},
        NDJSON,
    ),
    "widget /chat": (
        "/chat",
        {"x-api-key": "wk-widget-123"},
        {"sessionId": "u1", "message": "hi"},
        {},
        NDJSON,
    ),
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    with TestClient(make_app(APIS_CONFIG), base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("api", STREAMS)
def test_stream_content_type(client: TestClient[Any], api: str, accept: str | None) -> None:
    path, headers, body, by_accept, default = STREAMS[api]
    sent = {**headers, **({"Accept": accept} if accept else {})}
    response = client.post(path, json=body, headers=sent)
    assert response.status_code == 200
    assert response.headers.get_list("content-type") == [by_accept.get(accept, default)]
