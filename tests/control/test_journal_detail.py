"""GET /_emulator/journal/{requestId}: what a request sent and got, credentials redacted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.core.requestlog import CAPTURE_LIMIT, REDACTED
from tests.apis.golden import APIS_CONFIG
from tests.conftest import AUTH, KEY


@pytest.fixture
def apis(make_client: Callable[..., TestClient[Any]]) -> TestClient[Any]:
    return make_client(APIS_CONFIG)


def detail(client: TestClient[Any], request_id: str) -> dict[str, Any]:
    response = client.get(f"/_emulator/journal/{request_id}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_request_and_its_answer_are_kept(client: TestClient[Any]) -> None:
    sent = {"content": "hours"}
    answer = client.post("/chat?x=1", json=sent, headers={**AUTH, "X-Request-Id": "req-a"})
    entry = detail(client, "req-a")
    assert (entry["requestId"], entry["method"], entry["path"]) == ("req-a", "POST", "/chat")
    assert (entry["node"], entry["status"], entry["streaming"]) == ("support", 200, False)
    request, response = entry["request"], entry["response"]
    assert request["headers"]["content-type"] == "application/json"
    assert request["query"] == "x=1"
    assert json.loads(request["body"]) == sent
    assert response["headers"]["x-request-id"] == "req-a"
    assert response["body"] == answer.text and response["frames"] is None
    assert not request["truncated"] and not response["truncated"]
    # The list entry is the same entry, without the captured detail.
    listed = client.get("/_emulator/journal").json()["entries"][-1]
    assert {k: entry[k] for k in listed} == listed


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/nodes/support/chat?api_key=SECRET", {"Authorization": "Bearer SECRET"}),
        ("/nodes/researcher/v1/chat", {"X-Api-Key": "SECRET", "Cookie": "session=SECRET"}),
        ("/nodes/widget/chat", {"x-widget-api-key": "SECRET", "Proxy-Authorization": "SECRET"}),
        ("/nodes/widget/chat?API_KEY=SECRET&token=SECRET", {"x-api-key": "SECRET"}),
        # the access log's rule: any credential-like name, and token-shaped values
        ("/nodes/widget/chat?client_secret=SECRET&t=SECRETab.cdefghij.k", {"x-api-key": "SECRET"}),
    ],
)
def test_credentials_are_redacted_wherever_they_were_sent(
    apis: TestClient[Any], path: str, headers: dict[str, str]
) -> None:
    apis.post(path, json={"message": "hi"}, headers={**headers, "X-Request-Id": "req-r"})
    text = apis.get("/_emulator/journal/req-r").text
    assert "SECRET" not in text
    request = json.loads(text)["request"]
    for name in headers:
        assert request["headers"][name.lower()] == REDACTED
    if "?" in path:
        assert request["query"].count(f"={REDACTED}") == path.count("SECRET")


def test_a_stream_is_kept_frame_by_frame_with_timings(client: TestClient[Any]) -> None:
    answer = client.post(
        "/chat/stream", json={"content": "hours"}, headers={**AUTH, "X-Request-Id": "req-s"}
    )
    entry = detail(client, "req-s")
    assert entry["streaming"] is True
    response = entry["response"]
    assert response["body"] is None
    frames = response["frames"]
    assert frames[0]["data"].startswith("event: start\n")
    assert "\nevent: done\n" in frames[-1]["data"]  # no latency: one write, start to done
    assert "".join(f["data"] for f in frames) == answer.text
    times = [f["ms"] for f in frames]
    assert times == sorted(times) and times[0] >= 0


def test_bodies_are_capped(client: TestClient[Any]) -> None:
    big = "x" * (CAPTURE_LIMIT * 2)
    client.post("/nodes/echo/chat", json={"content": big}, headers={"X-Request-Id": "req-big"})
    entry = detail(client, "req-big")
    request, response = entry["request"], entry["response"]
    assert len(request["body"]) == CAPTURE_LIMIT and request["truncated"] is True
    assert request["bodyBytes"] > CAPTURE_LIMIT * 2
    assert len(response["body"]) == CAPTURE_LIMIT and response["truncated"] is True


def test_an_unknown_request_id_is_404(client: TestClient[Any]) -> None:
    response = client.get("/_emulator/journal/req_missing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    client.post("/chat", json={"content": "hi"}, headers={**AUTH, "X-Request-Id": "req-gone"})
    client.post("/_emulator/reset", headers={"X-Emulator-Client": "pytest"})
    assert client.get("/_emulator/journal/req-gone").status_code == 404
    assert KEY  # the fixture's key is what AUTH sends
