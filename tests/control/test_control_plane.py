"""The /_emulator control plane, CORS and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import AUTH, CONTROL


def test_health(client: TestClient[Any]) -> None:
    body = client.get("/_emulator/health").json()
    assert body["status"] == "ok"
    assert body["generation"] == 1
    assert body["config"]["path"] == "test.yaml"
    assert body["config"]["error"] is None


def test_nodes_list_every_node_with_urls(client: TestClient[Any]) -> None:
    nodes = client.get("/_emulator/nodes").json()["nodes"]
    assert [n["alias"] for n in nodes] == ["support", "echo", "anykey", "slow"]
    support = nodes[0]
    assert support["api"] == "interlocute"
    assert support["model"] == {"name": "gpt-4o", "kind": "scripted"}
    assert "http://support.localhost:8080/chat" in support["urls"]


def test_threads_list_detail_delete_and_reset(client: TestClient[Any]) -> None:
    first = client.post("/chat", json={"content": "hours"}, headers=AUTH).json()
    client.post("/nodes/echo/chat", json={"content": "hi"})
    everything = client.get("/_emulator/threads").json()["threads"]
    assert len(everything) == 2
    only_support = client.get("/_emulator/threads", params={"node": "support"}).json()["threads"]
    assert [t["id"] for t in only_support] == [first["threadId"]]

    detail = client.get(f"/_emulator/threads/{first['threadId']}").json()
    assert detail["id"] == first["threadId"]
    assert detail["node"] == "support" and detail["api"] == "interlocute"
    user, assistant = detail["messages"]
    assert (user["role"], user["content"]) == ("user", "hours")
    assert (assistant["role"], assistant["content"]) == ("assistant", "We are open 9 to 5.")
    assert assistant["id"] == first["messageId"]
    assert assistant["model"] == "gpt-4o"

    assert (
        client.delete(f"/_emulator/threads/{first['threadId']}", headers=CONTROL).status_code == 204
    )
    assert client.get(f"/_emulator/threads/{first['threadId']}").status_code == 404
    assert (
        client.delete(f"/_emulator/threads/{first['threadId']}", headers=CONTROL).status_code == 404
    )

    assert client.post("/_emulator/reset", headers=CONTROL).json() == {"status": "reset"}
    assert client.get("/_emulator/threads").json()["threads"] == []


def test_unknown_thread_is_404(client: TestClient[Any]) -> None:
    response = client.get("/_emulator/threads/thr_missing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_cors_is_open_and_exposes_our_headers(client: TestClient[Any]) -> None:
    preflight = client.options(
        "/chat",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")
    response = client.post(
        "/chat", json={"content": "hi"}, headers={**AUTH, "Origin": "http://localhost:5173"}
    )
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed


def test_openapi_schema_is_served(client: TestClient[Any]) -> None:
    schema = client.get("/_emulator/schema/openapi.json").json()
    assert schema["info"]["title"] == "chat-api-emulator"
    assert "/chat" in schema["paths"]
    assert "/_emulator/health" in schema["paths"]


def test_control_token_guards_the_plane() -> None:
    from emulator.app import build_app
    from tests.conftest import make_app

    engine = make_app().state.engine
    with TestClient(build_app(engine, control_token="s3cret")) as client:
        assert client.get("/_emulator/health").status_code == 401
        ok = client.get("/_emulator/health", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
