"""No web page can drive the control plane: Host (DNS rebinding), Origin, CSRF and token rules,
and open CORS with credentials on the chat APIs. Through the test client, as a browser would
send them; tests/browser/test_cross_origin.py does the same with a real Chromium."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.app import build_app
from tests.conftest import AUTH, CONTROL, make_app

BASE = "http://127.0.0.1:8080"
SITE = "http://attacker.example"  # a page on another site
LOCAL_SITE = "http://127.0.0.1:5173"  # a page on another local origin (a dev server)
NEW_CONFIG = "version: 1\nnodes:\n  mine: {api: interlocute, name: Mine, model: echo}\n"


@pytest.fixture(scope="module")
def shared() -> Iterator[TestClient[Any]]:
    with TestClient(make_app(), base_url=BASE) as client:
        yield client


@pytest.fixture
def plane(shared: TestClient[Any]) -> TestClient[Any]:
    """One app for the module (building one per test would cost seconds), with no threads."""
    assert shared.post("/_emulator/reset", headers=CONTROL).status_code == 200
    return shared


def chat(client: TestClient[Any], **headers: str) -> Any:
    return client.post("/nodes/support/chat", json={"content": "hi"}, headers={**AUTH, **headers})


def thread_count(client: TestClient[Any]) -> int:
    return len(client.get("/_emulator/threads").json()["threads"])


# Host: a rebound name reaches nothing of the control plane.

CONTROL_READS = [
    "/_emulator/health",
    "/_emulator/threads",
    "/_emulator/nodes",
    "/_emulator/journal",
    "/_emulator/schema/openapi.json",
    "/_emulator/schema",
    "/_emulator/ui/",
    "/",
]


@pytest.mark.parametrize("path", CONTROL_READS)
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8080", "127.0.0.1.nip.io"])
def test_a_foreign_host_reaches_nothing_of_the_control_plane(
    plane: TestClient[Any], path: str, host: str
) -> None:
    response = plane.get(path, headers={"Host": host, "Accept": "text/html"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "--allowed-host" in response.json()["error"]["message"]


def test_a_foreign_host_can_change_nothing(plane: TestClient[Any]) -> None:
    chat(plane)
    rebound = {"Host": "attacker.example:8080", **CONTROL}
    assert plane.post("/_emulator/reset", headers=rebound).status_code == 403
    put = plane.put("/_emulator/config", content=NEW_CONFIG, headers=rebound)
    assert put.status_code == 403
    assert plane.post("/_emulator/reload", headers=rebound).status_code == 403
    assert thread_count(plane) == 1
    assert "mine" not in [n["alias"] for n in plane.get("/_emulator/nodes").json()["nodes"]]


@pytest.mark.parametrize(
    "host",
    [
        "localhost:8080",
        "LOCALHOST",
        "127.0.0.1:8080",
        "127.0.0.7",
        "[::1]:8080",
        "support.localhost:8080",
        "a.b.localhost.",
    ],
)
def test_the_server_s_own_names_reach_it(plane: TestClient[Any], host: str) -> None:
    assert plane.get("/_emulator/threads", headers={"Host": host}).status_code == 200


def test_the_chat_apis_answer_any_host(plane: TestClient[Any]) -> None:
    assert chat(plane, Host="anything.example").status_code == 200


def test_nodes_urls_never_carry_a_foreign_host() -> None:
    with TestClient(make_app(), base_url="http://10.0.0.5:8080") as client:
        foreign = client.get("/_emulator/nodes", headers={"Host": "attacker.example:8080"})
        assert foreign.status_code == 403
        assert "attacker" not in str(foreign.json()["error"].get("urls", ""))
        # The address the server is bound to is its own name.
        urls = client.get("/_emulator/nodes").json()["nodes"][0]["urls"]
        assert all("attacker" not in url for url in urls)
        assert any(url.startswith("http://10.0.0.5:8080/") for url in urls)


def test_allowed_hosts_add_names_and_domains() -> None:
    engine = make_app().state.engine
    app = build_app(engine, allowed_hosts=["emulator", ".corp.test"])
    with TestClient(app, base_url=BASE) as client:
        for host in ("emulator:8080", "corp.test", "ci.corp.test:8080"):
            assert client.get("/_emulator/health", headers={"Host": host}).status_code == 200
        for host in ("emulator.evil", "corp.test.evil", "evilcorp.test", "other"):
            assert client.get("/_emulator/health", headers={"Host": host}).status_code == 403
        nodes = client.get("/_emulator/nodes", headers={"Host": "emulator:8080"}).json()["nodes"]
        assert all("emulator:8080" in url for url in nodes[0]["urls"])


def test_bound_to_every_interface_any_address_is_its_own() -> None:
    with TestClient(make_app(), base_url="http://0.0.0.0:8080") as client:
        assert client.get("/_emulator/health", headers={"Host": "192.168.1.20:8080"}).is_success
        assert client.get("/_emulator/health", headers={"Host": "lan.example"}).status_code == 403


# Origin and CORS: the control plane answers no other origin.


@pytest.mark.parametrize("origin", [SITE, LOCAL_SITE, "http://localhost:5173", "null"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "GET"])
def test_control_plane_preflights_from_other_origins_are_refused(
    plane: TestClient[Any], origin: str, method: str
) -> None:
    response = plane.options(
        "/_emulator/reset",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,x-emulator-client",
        },
    )
    assert response.status_code == 403
    assert not any(name.startswith("access-control-") for name in response.headers)


@pytest.mark.parametrize("origin", [SITE, LOCAL_SITE])
def test_control_plane_requests_from_other_origins_are_refused(
    plane: TestClient[Any], origin: str
) -> None:
    chat(plane)
    read = plane.get("/_emulator/threads", headers={"Origin": origin})
    assert read.status_code == 403
    assert "access-control-allow-origin" not in read.headers
    # Even one that declares itself (a browser would have asked first, and been refused).
    reset = plane.post("/_emulator/reset", json={}, headers={"Origin": origin, **CONTROL})
    assert reset.status_code == 403
    assert thread_count(plane) == 1


def test_the_server_s_own_origin_is_answered(plane: TestClient[Any]) -> None:
    own = plane.get("/_emulator/threads", headers={"Origin": BASE})
    assert own.status_code == 200
    assert own.headers["access-control-allow-origin"] == BASE
    assert "access-control-allow-credentials" not in own.headers
    reset = plane.post("/_emulator/reset", headers={"Origin": "http://localhost:8080", **CONTROL})
    assert reset.status_code == 200


# CSRF: a state-changing call must declare itself, which a form or a simple fetch cannot.

UNDECLARED = [
    {"Content-Type": "application/x-www-form-urlencoded"},
    {"Content-Type": "multipart/form-data; boundary=x"},
    {"Content-Type": "text/plain"},
    {"Content-Type": "text/plain; charset=application/json"},
    {},
    {"X-Emulator-Client": " "},
]


@pytest.mark.parametrize("headers", UNDECLARED)
def test_undeclared_state_changes_are_refused(
    plane: TestClient[Any], headers: dict[str, str]
) -> None:
    thread_id = chat(plane).json()["threadId"]
    for method, path, body in [
        ("POST", "/_emulator/reset", b"a=1"),
        ("POST", "/_emulator/reload", b""),
        ("PUT", "/_emulator/config", NEW_CONFIG.encode()),
        ("DELETE", f"/_emulator/threads/{thread_id}", b""),
    ]:
        response = plane.request(method, path, content=body, headers=headers)
        assert response.status_code == 403, (method, path)
        assert "X-Emulator-Client" in response.json()["error"]["message"]
    assert thread_count(plane) == 1
    assert "support" in [n["alias"] for n in plane.get("/_emulator/nodes").json()["nodes"]]


@pytest.mark.parametrize("path", ["//_emulator/reset", "///_emulator//reset", "/_emulator/reset/"])
def test_a_path_spelled_otherwise_meets_the_same_rules(plane: TestClient[Any], path: str) -> None:
    # The router collapses repeated slashes, so `//_emulator/reset` is the reset route.
    chat(plane)
    url = BASE + path
    assert plane.post(url, content=b"a=1", headers=UNDECLARED[0]).status_code == 403
    assert plane.post(url, headers={"Host": "attacker.example", **CONTROL}).status_code == 403
    preflight = plane.options(
        url, headers={"Origin": SITE, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    assert thread_count(plane) == 1
    assert plane.post(url, headers=CONTROL).status_code == 200  # the route it reaches
    assert thread_count(plane) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Emulator-Client": "curl"},
        {"Content-Type": "application/json"},
        {"Content-Type": "Application/JSON; charset=utf-8"},
    ],
)
def test_declared_state_changes_go_through(plane: TestClient[Any], headers: dict[str, str]) -> None:
    chat(plane)
    assert plane.post("/_emulator/reset", headers=headers).status_code == 200
    assert thread_count(plane) == 0


# The control token: Bearer only, and the schema is guarded too.


@pytest.fixture(scope="module")
def guarded() -> Iterator[TestClient[Any]]:
    app = build_app(make_app().state.engine, control_token="s3cret")
    with TestClient(app, base_url=BASE) as client:
        yield client


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "s3cret",
        "Basic s3cret",
        "Basic " + base64.b64encode(b"user:s3cret").decode(),
        "Token s3cret",
        "Bearer wrong",
        "Bearer",
    ],
)
@pytest.mark.parametrize(
    "path", ["/_emulator/health", "/_emulator/schema/openapi.json", "/_emulator/schema"]
)
def test_the_token_must_come_as_bearer(
    guarded: TestClient[Any], authorization: str | None, path: str
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = guarded.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


def test_the_bearer_token_opens_the_plane_and_the_schema(guarded: TestClient[Any]) -> None:
    for scheme in ("Bearer", "bearer"):
        headers = {"Authorization": f"{scheme} s3cret"}
        assert guarded.get("/_emulator/health", headers=headers).status_code == 200
        schema = guarded.get("/_emulator/schema/openapi.json", headers=headers)
        assert schema.json()["info"]["title"] == "chat-api-emulator"
    # The token is no substitute for declaring a state change.
    refused = guarded.post("/_emulator/reset", headers={"Authorization": "Bearer s3cret"})
    assert refused.status_code == 403
    # The chat APIs never need it.
    assert chat(guarded).status_code == 200


# The chat APIs: open to every origin, with credentials.


@pytest.mark.parametrize("origin", [SITE, LOCAL_SITE])
def test_chat_preflights_reflect_the_origin_with_credentials(
    plane: TestClient[Any], origin: str
) -> None:
    response = plane.options(
        "/nodes/support/chat",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(","))
    assert "Origin" in response.headers["vary"]


def test_chat_answers_reflect_the_origin_with_credentials(plane: TestClient[Any]) -> None:
    response = chat(plane, Origin=SITE)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in response.headers["vary"]
    exposed = response.headers["access-control-expose-headers"].lower()
    assert {"x-request-id", "retry-after"} <= {h.strip() for h in exposed.split(",")}
    # Errors too: a browser can read a 401 to show it.
    refused = chat(plane, Origin=SITE, Authorization="Bearer wrong")
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == SITE


def test_without_an_origin_there_is_no_cors_grant_but_it_varies(plane: TestClient[Any]) -> None:
    response = chat(plane)
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"
