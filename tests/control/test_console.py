"""The web console's files: served under /_emulator/ui/, and `GET /` for a browser only."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from emulator.app import build_app
from emulator.control.console import CONSOLE_DIR
from tests.conftest import make_app


def test_console_index_is_served_at_ui(client: TestClient[Any]) -> None:
    response = client.get("/_emulator/ui/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == (CONSOLE_DIR / "index.html").read_text(encoding="utf-8")


def test_console_files_are_served_under_ui(client: TestClient[Any]) -> None:
    for file in sorted(p for p in CONSOLE_DIR.rglob("*") if p.is_file())[:20]:
        name = file.relative_to(CONSOLE_DIR).as_posix()
        response = client.get(f"/_emulator/ui/{name}")
        assert response.status_code == 200, name
        assert response.content == file.read_bytes()
    assert client.get("/_emulator/ui/no-such-file.js").status_code == 404


def test_ui_without_slash_redirects_so_relative_urls_resolve(client: TestClient[Any]) -> None:
    response = client.get("/_emulator/ui", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/_emulator/ui/"


def test_root_answers_a_browser_with_the_console(client: TestClient[Any]) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/", headers={"Accept": accept}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/_emulator/ui/"
    followed = client.get("/", headers={"Accept": accept})
    assert followed.status_code == 200
    assert followed.text == (CONSOLE_DIR / "index.html").read_text(encoding="utf-8")


def test_root_for_other_clients_is_still_a_json_404(client: TestClient[Any]) -> None:
    for accept in ("application/json", "*/*"):
        response = client.get("/", headers={"Accept": accept}, follow_redirects=False)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    # API routes are not shadowed, whatever the Accept header says.
    response = client.get("/chit", headers={"Accept": "text/html"})
    assert response.status_code != 307 and "text/html" not in response.headers["content-type"]


def test_console_loads_without_the_token_and_its_calls_need_it() -> None:
    # A browser navigating to the console cannot send a header: the page loads (it holds nothing
    # secret), asks for the token, and sends it with every control-plane call.
    engine = make_app().state.engine
    app = build_app(engine, control_token="s3cret")
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        assert client.get("/_emulator/ui/").status_code == 200
        assert client.get("/_emulator/nodes").status_code == 401
        ok = client.get("/_emulator/nodes", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_nodes_list_credentials_and_path_urls_first(client: TestClient[Any]) -> None:
    nodes = {n["alias"]: n for n in client.get("/_emulator/nodes").json()["nodes"]}
    assert nodes["support"]["credentials"] == {
        "apiKeys": ["sk-support-123"],
        "jwt": True,
        "anonymous": False,
    }
    assert nodes["echo"]["credentials"] == {"apiKeys": [], "jwt": False, "anonymous": True}
    assert nodes["support"]["urls"][0] == "http://localhost:8080/nodes/support/chat"


SNIPPET_NODES = """
version: 1
nodes:
  tokens:
    api: interlocute
    name: Tokens Only
    model: echo
    auth: {jwt: {secret: s3cret-for-tests, audience: app}}
  open:
    api: widget
    name: Open
    model: echo
"""


def test_snippets_carry_a_credential_that_opens_the_node(make_client: Any) -> None:
    client = make_client(SNIPPET_NODES)
    for alias, path in (("tokens", "/chat"), ("open", "/chat")):
        listed = client.get(f"/_emulator/nodes/{alias}/snippets").json()["snippets"]
        assert {s["language"] for s in listed} == {"shell", "javascript", "python"}
        assert all(set(s) == {"id", "title", "language", "code"} for s in listed)
        curl = next(s["code"] for s in listed if s["language"] == "shell")
        assert f"http://127.0.0.1:8080/nodes/{alias}/" in curl
        header = next(
            line for line in curl.splitlines() if "uthorization" in line or "-key" in line
        )
        name, value = header.split('"')[1].split(": ", 1)
        response = client.post(
            f"/nodes/{alias}{path}",
            json={"content": "hi", "message": "hi", "sessionId": "s"},
            headers={name: value},
        )
        assert response.status_code == 200, response.text


def test_snippets_of_an_unknown_node_are_404(client: TestClient[Any]) -> None:
    response = client.get("/_emulator/nodes/nope/snippets")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
