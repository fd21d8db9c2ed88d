"""Bad input to interlocute: every case gets the API's JSON error and the right status."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import AUTH

JSON = {**AUTH, "Content-Type": "application/json"}


@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "Request body must be valid JSON"),
        (b"", "Request body must be valid JSON"),
        (b"\xff\xfe", "Request body must be valid JSON"),
        (b'["content"]', "Request body must be a JSON object"),
        (b'"hello"', "Request body must be a JSON object"),
        (b"{}", "'content' is required"),
        (b'{"content": ""}', "'content' must not be empty"),
        (b'{"content": "   "}', "'content' must not be empty"),
        (b'{"content": 42}', "'content' must be a string"),
        (b'{"content": ["a"]}', "'content' must be a string"),
        (b'{"content": "hi", "threadId": 7}', "'threadId' must be a string"),
        (b"[" * 100_000, "Request body must be valid JSON"),
    ],
)
def test_invalid_bodies_are_400(
    client: TestClient[Any], path: str, body: bytes, message: str
) -> None:
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid_request", "message": message}}


@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
def test_body_over_one_mebibyte_is_413(client: TestClient[Any], path: str) -> None:
    body = b'{"content": "' + b"a" * (1024 * 1024) + b'"}'
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_body_of_exactly_the_limit_is_accepted(client: TestClient[Any]) -> None:
    filler = 1024 * 1024 - len(b'{"content": ""}')
    body = b'{"content": "' + b"a" * filler + b'"}'
    assert len(body) == 1024 * 1024
    assert client.post("/chat", content=body, headers=JSON).status_code == 200


@pytest.mark.parametrize(
    ("url", "host"),
    [("/nodes/nope/chat", None), ("/chat", "nope.localhost:8080")],
)
def test_unknown_node_is_404(client: TestClient[Any], url: str, host: str | None) -> None:
    headers = {**JSON, **({"Host": host} if host else {})}
    response = client.post(url, json={"content": "hi"}, headers=headers)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Node 'nope' not found"}}


def test_a_key_no_node_has_on_a_shared_url_is_401(make_client: Any) -> None:
    client = make_client()  # base URL http://127.0.0.1:8080: no alias in Host
    response = client.post("/chat", json={"content": "hi"}, headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthorized", "message": "Invalid API key"}}


def test_a_key_that_belongs_to_one_node_picks_it(make_client: Any) -> None:
    client = make_client()
    response = client.post("/chat", json={"content": "hours"}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["content"] == "We are open 9 to 5."


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_in_api_format(client: TestClient[Any], method: str) -> None:
    response = client.request(method, "/chat", headers=AUTH)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    response = client.request(method, "/nodes/support/chat/stream", headers=AUTH)
    assert response.status_code == 405


def test_unknown_route_is_404_json(client: TestClient[Any]) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_auth_scheme_is_401(client: TestClient[Any]) -> None:
    response = client.post("/chat", json={"content": "hi"}, headers={"Authorization": "Basic eA=="})
    assert response.status_code == 401
