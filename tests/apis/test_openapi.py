"""Issue 12 item 10: the OpenAPI document describes every chat operation's request body (an
anyOf where two APIs share a path) and every status it can answer, and every 405 the server
sends carries the `Allow` header the document promises."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.apis import agent_slug, interlocute, sentientone, widget
from tests.apis.golden import APIS_CONFIG
from tests.conftest import make_app

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    with TestClient(make_app(APIS_CONFIG), base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.fixture(scope="module")
def document(client: TestClient[Any]) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/_emulator/schema/openapi.json").json()
    return body


def body_schema(document: dict[str, Any], path: str) -> Any:
    operation = document["paths"][path]["post"]
    assert operation["requestBody"]["required"] is True
    return operation["requestBody"]["content"]["application/json"]["schema"]


@pytest.mark.parametrize("prefix", ["", "/nodes/{alias}"])
def test_each_chat_body_is_its_apis(document: dict[str, Any], prefix: str) -> None:
    assert body_schema(document, prefix + "/chat/stream") == interlocute.BODY
    assert body_schema(document, prefix + "/v1/api/chat/{slug}") == agent_slug.BODY
    assert body_schema(document, prefix + "/v1/chat") == sentientone.BODY
    assert body_schema(document, prefix + "/chat") == {"anyOf": [interlocute.BODY, widget.BODY]}
    assert body_schema(document, prefix + "/v1/chat/stream") == {
        "anyOf": [sentientone.BODY, widget.BODY]
    }


def test_every_chat_status_is_documented_in_its_apis_format(document: dict[str, Any]) -> None:
    responses = document["paths"]["/v1/api/chat/{slug}"]["post"]["responses"]
    assert sorted(responses) == sorted(
        ["200", "400", "401", "404", "405", "413", "429", "500", "503", "default"]
    )
    error = responses["404"]["content"]["application/json"]["schema"]
    assert error["required"] == ["data", "error"]
    shared = document["paths"]["/chat"]["post"]["responses"]
    assert "409" in shared  # interlocute's idempotency conflict
    formats = shared["400"]["content"]["application/json"]["schema"]["anyOf"]
    assert [f["properties"]["error"]["type"] for f in formats] == ["object", "string"]
    assert set(shared["200"]["content"]) == {"application/json", "application/x-ndjson"}


def test_every_operation_documents_a_405_with_allow(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            allow = operation["responses"]["405"]["headers"]["Allow"]
            assert allow["schema"] == {"type": "string"}, (method, path)


def concrete(path: str) -> str:
    """A documented path with its parameters filled in."""
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_405_carries_allow(client: TestClient[Any], document: dict[str, Any]) -> None:
    checked = 0
    for path, operations in document["paths"].items():
        documented = {method.upper() for method in operations}
        for method in METHODS:
            if method in documented:
                continue
            # The header passes the control plane's CSRF rule, which answers 403 first.
            headers = {"X-Emulator-Client": "pytest"}
            response = client.request(method, concrete(path), headers=headers)
            assert response.status_code == 405, (method, path)
            allowed = {m.strip() for m in response.headers["Allow"].split(",")}
            assert documented <= allowed, (method, path, allowed)
            checked += 1
    assert checked > 100
