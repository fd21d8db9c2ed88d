"""Input no client should send, at every API: a clear 4xx in the API's format, never a 500,
and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.golden import APIS_CONFIG
from tests.conftest import CONTROL, make_app

# (path, credentials, the API's 400 body for a body that is not usable JSON)
ROUTES: dict[str, tuple[str, dict[str, str], Any]] = {
    "interlocute": (
        "/nodes/support/chat/stream",
        {"Authorization": "Bearer sk-support-123"},
        {"error": {"code": "invalid_request", "message": "Request body must be valid JSON"}},
    ),
    "agent-slug": (
        "/v1/api/chat/helpdesk",
        {"Authorization": "Bearer sk-slug-123"},
        {
            "data": None,
            "error": {
                "name": "ValidationError",
                "message": "Request body must be valid JSON",
                "details": {},
            },
        },
    ),
    "sentientone": (
        "/v1/chat/stream",
        {"X-Api-Key": "sk-sentient-123", "X-Agent-Id": "researcher"},
        {"error": {"code": "invalid_request", "message": "Request body must be valid JSON"}},
    ),
    "widget": (
        "/v1/chat/stream",
        {"x-api-key": "wk-widget-123"},
        {"error": "Invalid request payload"},
    ),
}

BODIES = {
    # legal JSON syntax, but not Unicode: nothing could store it or send it back
    "a lone surrogate": b'{"content": "hi \\ud800", "message": "hi \\uDFFF", "sessionId": "s1"}',
    # the same, as the three raw bytes ED A0 80: not UTF-8 at all
    "raw surrogate bytes": b'{"content": "\xed\xa0\x80", "message": "\xed\xa0\x80", '
    b'"sessionId": "s1"}',
    # Python refuses to read integers this long (CVE-2020-10735)
    "a 5000-digit number": b'{"content": 1' + b"0" * 5000 + b', "message": "x"}',
    "nesting deeper than the parser goes": b"[" * 100_000 + b"]" * 100_000,
    "binary": b"\x00\xff\xfe\xfd",
}


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(make_app(APIS_CONFIG), base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize("api", ROUTES)
def test_unusable_json_is_the_apis_400(client: Any, api: str, body: bytes) -> None:
    path, credentials, expected = ROUTES[api]
    headers = {**credentials, "Content-Type": "application/json"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 400
    payload = response.json()
    payload.pop("trace_id", None)
    assert payload == expected
    assert client.get("/_emulator/threads").json()["threads"] == []


def test_a_pair_of_surrogates_is_one_character_and_welcome(client: Any) -> None:
    credentials = ROUTES["interlocute"][1]
    body = b'{"content": "smile \\ud83d\\ude00"}'
    response = client.post("/nodes/support/chat", content=body, headers=credentials)
    assert response.status_code == 200
    thread = client.get(f"/_emulator/threads/{response.json()['threadId']}").json()
    assert thread["messages"][0]["content"] == "smile 😀"
    client.post("/_emulator/reset", headers=CONTROL)


@pytest.mark.parametrize("api", ROUTES)
def test_a_content_length_that_is_not_a_number_is_400(client: Any, api: str) -> None:
    path, credentials, _ = ROUTES[api]
    headers = [(k.lower().encode(), v.encode()) for k, v in credentials.items()]
    response = client.post(path, content=b"{}", headers=[*headers, (b"content-length", b"12x")])
    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/nodes/support/chit?verbosity=%ED%A0%80",
        "/nodes/support/chit/%FF%00",
        "/nodes/%ED%A0%80/chat",
        "/v1/api/chat/%FF",
        "/_emulator/threads/%ED%A0%80",
        "/_emulator/threads/%ED%A0%80/fixture",
        "/_emulator/threads?node=%FF",
        "/_emulator/journal?limit=%FF",
        "/_emulator/journal?limit=99999999999999999999999999",
    ],
)
def test_odd_bytes_in_paths_and_queries_are_never_a_500(client: Any, url: str) -> None:
    method = "POST" if "/chat" in url else "GET"
    headers = {"Authorization": "Bearer sk-support-123"}
    response = client.request(method, url, json={"content": "x", "message": "x"}, headers=headers)
    assert 200 <= response.status_code < 500
    assert response.json()  # a JSON body, in the format of whoever answered


@pytest.mark.parametrize("sent", [b"id-\x80\xe9", b"two words", b"tab\there"])
def test_a_request_id_clients_could_not_read_back_is_replaced(sent: bytes) -> None:
    """Found by the fuzzer: an X-Request-Id with non-ASCII bytes was echoed as is, a header
    httpx (and other clients) refuse to decode."""
    with TestClient(make_app(APIS_CONFIG), base_url="http://127.0.0.1:8080") as client:
        response = client.post(
            "/nodes/support/chat",
            json={"content": "hi"},
            headers=[(b"Authorization", b"Bearer sk-support-123"), (b"X-Request-Id", sent)],
        )
    assert response.status_code == 200
    assert response.headers["X-Request-Id"].startswith("req_")
