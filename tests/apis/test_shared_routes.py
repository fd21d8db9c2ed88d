"""POST /chat (interlocute, widget) and POST /v1/chat/stream (sentientone, widget): the node
decides the API; a request fitting no node gets the 404 of the API it most resembles."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.golden import APIS_CONFIG, ndjson, send
from tests.conftest import make_app

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


# ---------------------------------------------------------------------------------------------
# Issue 9 item 8: every error (400, 401, 404, 405, 413) in the format of the API the request
# addresses, on every path form: bare (addressed by its key), /nodes/{alias}/ and Host.


def interlocute_error(code: str, message: str) -> Any:
    return {"error": {"code": code, "message": message}}


def slug_error(name: str, message: str) -> Any:
    return {"data": None, "error": {"name": name, "message": message, "details": {}}}


def widget_error(text: str) -> Any:
    return {"error": text}


# api -> (alias, its key headers, a bad key's headers, a valid body, its paths)
NODES: dict[str, tuple[str, dict[str, str], dict[str, str], dict[str, Any], list[str]]] = {
    "interlocute": (
        "support",
        {"Authorization": "Bearer sk-support-123"},
        {"Authorization": "Bearer sk-nobody"},
        {"content": "hi"},
        ["/chat", "/chat/stream"],
    ),
    "agent-slug": (
        "helpdesk",
        {"Authorization": "Bearer sk-slug-123"},
        {"Authorization": "Bearer sk-nobody"},
        {"message": "hi"},
        ["/v1/api/chat/customer-support"],
    ),
    "sentientone": (
        "researcher",
        {"X-Api-Key": "sk-sentient-123"},
        {"X-Api-Key": "sk-nobody"},
        {"message": "hi"},
        ["/v1/chat/stream"],
    ),
    "widget": (
        "widget",
        {"x-api-key": "wk-widget-123"},
        {"x-api-key": "wk-nobody"},
        {"sessionId": "u1", "message": "hi"},
        ["/chat", "/v1/chat/stream"],
    ),
}

BIG = b"x" * (1024 * 1024 + 1)


@pytest.fixture(scope="module")
def errors_client() -> Iterator[TestClient[Any]]:
    """One app for the error tables: none of their requests stores anything."""
    with TestClient(make_app(APIS_CONFIG), base_url="http://127.0.0.1:8080") as client:
        yield client


def expected(api: str, status: str, url: str) -> Any:
    """The body `api` answers with for error `status` on `url`."""
    messages = {
        "400": ("invalid_request", "ValidationError", "Request body must be valid JSON"),
        "413": (
            "payload_too_large",
            "PayloadTooLargeError",
            "Request body is larger than 1048576 bytes",
        ),
        "405": (
            "method_not_allowed",
            "MethodNotAllowedError",
            f"Method GET is not allowed on {url}",
        ),
        "404": ("not_found", "NotFoundError", f"No route for POST {url}"),
        "401": ("unauthorized", "UnauthorizedError", "Invalid API key"),
    }
    code, name, message = messages[status]
    if api == "agent-slug":
        return slug_error(name, "Invalid or missing API token" if status == "401" else message)
    if api == "widget":
        texts = {"400": "Invalid request payload", "413": "Payload too large"}
        texts |= {"405": "Method not allowed", "404": "Not found", "401": "Unauthorized"}
        return widget_error(texts[status])
    return interlocute_error(code, message)  # sentientone's also carries trace_id


def error_cases() -> list[Any]:
    cases = []
    for api, node in NODES.items():
        for path in node[-1]:
            for form in ("bare", "path", "host"):
                for status in ("400", "401", "404", "405", "413"):
                    cases.append(
                        pytest.param(api, path, form, status, id=f"{api}-{path}-{form}-{status}")
                    )
    return cases


@pytest.mark.parametrize(("api", "path", "form", "status"), error_cases())
def test_every_error_is_in_the_addressed_apis_format(
    errors_client: TestClient[Any], api: str, path: str, form: str, status: str
) -> None:
    alias, key, bad_key, body, _ = NODES[api]
    url = f"/nodes/{alias}{path}" if form == "path" else path
    headers = {"Host": f"{alias}.localhost:8080"} if form == "host" else {}
    # Away from the bare form, the address alone must decide: no credential is sent where the
    # error comes before authentication.
    if form == "bare" or status == "400":
        headers |= key
    if status == "404":
        url += "/nope"
    method, content = {
        "400": ("POST", b"{"),
        "401": ("POST", json.dumps(body).encode()),
        "404": ("POST", json.dumps(body).encode()),
        "405": ("GET", None),
        "413": ("POST", BIG),
    }[status]
    if status == "401":
        headers |= bad_key
    headers["Content-Type"] = "application/json"
    response = errors_client.request(method, url, headers=headers, content=content)
    assert response.status_code == int(status)
    seen = response.json()
    if api == "sentientone":
        assert seen.pop("trace_id") == response.headers["X-Trace-Id"]
    assert seen == expected(api, status, url)
    if status == "405":
        assert response.headers["Allow"] == "POST, OPTIONS"


@pytest.mark.parametrize(
    ("path", "expected_body"),
    [
        ("/v1/api/nope", slug_error("NotFoundError", "No route for POST /v1/api/nope")),
        ("/v1/api/chat", slug_error("NotFoundError", "No route for POST /v1/api/chat")),
        (
            "/chit/nope/deeper",
            interlocute_error("not_found", "No route for POST /chit/nope/deeper"),
        ),
    ],
)
def test_an_unknown_route_takes_the_format_of_the_only_api_near_it(
    errors_client: TestClient[Any], path: str, expected_body: Any
) -> None:
    response = errors_client.post(path, content=b"{}")
    assert (response.status_code, response.json()) == (404, expected_body)


def test_an_unknown_x_api_key_alone_is_widgets_not_a_tie(errors_client: TestClient[Any]) -> None:
    """Widget and sentientone both send X-Api-Key; only sentientone adds X-Agent-Id. An
    unknown key with a body too big to read once got sentientone's 413."""
    big = errors_client.post("/v1/chat/stream", content=BIG, headers={"x-api-key": "wk-typo"})
    assert (big.status_code, big.json()) == (413, widget_error("Payload too large"))
    wrong = errors_client.get("/v1/chat/stream", headers={"x-api-key": "wk-typo"})
    assert (wrong.status_code, wrong.json()) == (405, widget_error("Method not allowed"))


def test_a_widget_key_decides_the_405_on_a_path_widget_shares(
    errors_client: TestClient[Any],
) -> None:
    response = errors_client.get("/v1/chat/stream", headers={"x-api-key": "wk-kiosk-123"})
    assert (response.status_code, response.json()) == (405, widget_error("Method not allowed"))


def test_a_path_only_one_configured_api_serves_is_in_its_format(
    make_client: Callable[..., TestClient[Any]],
) -> None:
    only_widgets = """
version: 1
nodes:
  a: {api: widget, name: A, model: echo, auth: {api_keys: [wk-a]}}
  b: {api: widget, name: B, model: echo, auth: {api_keys: [wk-b]}}
"""
    client = make_client(only_widgets)
    big = client.post("/v1/chat/stream", content=BIG, headers={"x-api-key": "wk-unknown"})
    assert (big.status_code, big.json()) == (413, widget_error("Payload too large"))
    wrong = client.get("/chat")
    assert (wrong.status_code, wrong.json()) == (405, widget_error("Method not allowed"))


# Issue 9 item 9: on a URL several nodes share, a credential that opens none of them is that
# API's 401 (as the hosted services answer), not a 404.
WIDGET_BODY = {"sessionId": "u1", "message": "hi"}
SHARED_401: dict[str, tuple[str, dict[str, str], Any, Any]] = {
    "widget, no key": ("/v1/chat/stream", {}, WIDGET_BODY, widget_error("Unauthorized")),
    "widget, wrong key": (
        "/chat",
        {"x-api-key": "wk-nobody"},
        WIDGET_BODY,
        widget_error("Unauthorized"),
    ),
    "sentientone, wrong key": (
        "/v1/chat/stream",
        {"X-Api-Key": "sk-nobody"},
        {"message": "hi"},
        interlocute_error("unauthorized", "Invalid API key"),
    ),
    "sentientone, no key, its body": (
        "/v1/chat/stream",
        {},
        {"message": "hi", "conversation_id": "c"},
        interlocute_error("unauthorized", "Missing credentials"),
    ),
}


@pytest.mark.parametrize("case", SHARED_401.values(), ids=SHARED_401.keys())
def test_no_node_opened_by_the_credential_is_401(
    errors_client: TestClient[Any], case: tuple[str, dict[str, str], Any, Any]
) -> None:
    path, headers, body, expected_body = case
    response = send(errors_client, path, headers, body)
    assert response.status_code == 401
    seen = response.json()
    assert seen.pop("trace_id", None) == response.headers.get("X-Trace-Id")
    assert seen == expected_body
