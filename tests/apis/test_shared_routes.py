"""POST /chat (interlocute, widget) and POST /v1/chat/stream (sentientone, widget): the node
decides the API; a request fitting no node gets the 404 of the API it most resembles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.golden import APIS_CONFIG, ndjson, send

NOWHERE = {"Host": "nope.localhost:8080"}
WIDGET_404 = {"error": "Not found"}
INTERLOCUTE_404 = {"error": {"code": "not_found", "message": "Node 'nope' not found"}}
SENTIENTONE_404 = {"code": "agent_not_found", "message": "Agent 'nope' not found"}

# (path, headers, body, the 404 body, or for sentientone its "error" member)
LOOKALIKES: dict[str, tuple[str, dict[str, str], Any, Any]] = {
    "sessionId on /chat is widget": ("/chat", {}, {"sessionId": "u", "message": "x"}, WIDGET_404),
    "content on /chat is interlocute": ("/chat", {}, {"content": "x"}, INTERLOCUTE_404),
    "threadId on /chat is interlocute": (
        "/chat",
        {},
        {"threadId": "t", "message": "x"},
        INTERLOCUTE_404,
    ),
    "bearer and bad JSON on /chat is interlocute": (
        "/chat",
        {"Authorization": "Bearer k"},
        b"{",
        INTERLOCUTE_404,
    ),
    "x-widget-api-key and bad JSON on /chat is widget": (
        "/chat",
        {"x-widget-api-key": "k"},
        b"{",
        WIDGET_404,
    ),
    "sessionId on /v1/chat/stream is widget": (
        "/v1/chat/stream",
        {"x-api-key": "k"},
        {"sessionId": "u", "message": "x"},
        WIDGET_404,
    ),
    "X-Agent-Id on /v1/chat/stream is sentientone": (
        "/v1/chat/stream",
        {"X-Agent-Id": "a", "x-api-key": "k"},
        {"message": "x"},
        SENTIENTONE_404,
    ),
    "conversation_id on /v1/chat/stream is sentientone": (
        "/v1/chat/stream",
        {},
        {"message": "x", "conversation_id": "c"},
        SENTIENTONE_404,
    ),
}


@pytest.fixture
def client(make_client: Callable[..., TestClient[Any]]) -> TestClient[Any]:
    return make_client(APIS_CONFIG)


@pytest.mark.parametrize("case", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_no_node_answers_in_the_format_it_resembles(
    client: TestClient[Any], case: tuple[str, dict[str, str], Any, Any]
) -> None:
    path, headers, body, expected = case
    response = send(client, path, {**NOWHERE, **headers}, body)
    assert response.status_code == 404
    seen = response.json()
    assert (seen["error"] if "trace_id" in seen else seen) == expected


def test_each_api_keeps_its_own_format_on_a_shared_path(client: TestClient[Any]) -> None:
    interlocute = client.post(
        "/chat", json={"content": "hi"}, headers={"Authorization": "Bearer sk-support-123"}
    )
    widget = client.post(
        "/chat", json={"sessionId": "u", "message": "hi"}, headers={"x-api-key": "wk-widget-123"}
    )
    sentient = client.post(
        "/v1/chat/stream", json={"message": "hi"}, headers={"X-Api-Key": "sk-analyst-123"}
    )
    assert interlocute.json()["content"] == "hi"
    assert ndjson(widget.text)[-1]["message"] == "Echo: hi"
    assert sentient.text.startswith('data: {"type":"meta"')


def test_the_node_decides_even_against_the_body(client: TestClient[Any]) -> None:
    response = client.post(
        "/nodes/support/chat",
        json={"sessionId": "u", "message": "hi"},
        headers={"Authorization": "Bearer sk-support-123"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_request", "message": "'content' is required"}
    }


class TestOwnIdsNameOnlyTheirOwnApi:
    """An API's own id (slug, X-Agent-Id) names a node of that API, and must agree with an
    alias given by path or Host."""

    def test_agent_id_of_a_widget_node_is_not_an_agent(self, client: TestClient[Any]) -> None:
        headers = {"X-Agent-Id": "widget", "x-api-key": "wk-widget-123"}
        response = send(client, "/v1/chat/stream", headers, {"message": "hi"})
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "agent_not_found",
            "message": "Agent 'widget' not found",
        }

    def test_agent_id_disagreeing_with_the_path_alias(self, client: TestClient[Any]) -> None:
        headers = {"X-Agent-Id": "analyst", "X-Api-Key": "sk-sentient-123"}
        response = send(client, "/nodes/researcher/v1/chat/stream", headers, {"message": "hi"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "agent_not_found"

    def test_slug_disagreeing_with_the_path_alias(self, client: TestClient[Any]) -> None:
        headers = {"Authorization": "Bearer sk-slug-123"}
        response = send(client, "/nodes/helpdesk/v1/api/chat/sales-bot", headers, {"message": "x"})
        assert response.status_code == 404
        assert response.json() == {
            "data": None,
            "error": {
                "name": "NotFoundError",
                "message": "Agent with slug 'sales-bot' not found",
                "details": {},
            },
        }

    def test_slug_agreeing_with_the_path_alias(self, client: TestClient[Any]) -> None:
        headers = {"Authorization": "Bearer sk-slug-123"}
        url = "/nodes/helpdesk/v1/api/chat/customer-support"
        assert send(client, url, headers, {"message": "x"}).status_code == 200
