"""POST /_emulator/reload and PUT /_emulator/config through the test client, and the watcher
started by the app's lifespan when a caller opts in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.loader import load_config
from emulator.config.reloader import CATCH_UP_MS, PUT_SOURCE, Reloader
from emulator.core.engine import Engine
from emulator.core.store import TinyStore
from tests.conftest import AUTH, CONTROL, TEST_CONFIG

NEW_NODE = """
  helper:
    api: interlocute
    name: Helper
    model: {kind: echo, template: "helper: {message}"}
    auth: {anonymous: true}
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "nodes.yaml"
    file.write_text(TEST_CONFIG)
    return file


def app_for(path: Path, *, watch: bool = False) -> Litestar:
    engine = Engine(load_config(path), TinyStore(None), seed=7)
    return build_app(engine, reloader=Reloader(engine, path), watch_config=watch)


@pytest.fixture
def client(path: Path) -> Iterator[TestClient[Litestar]]:
    with TestClient(app_for(path), base_url="http://127.0.0.1:8080") as client:
        yield client


def health(client: TestClient[Any]) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/_emulator/health").json()
    return body


def test_reload_applies_the_file_and_says_what_changed(client: TestClient[Any], path: Path) -> None:
    thread = client.post("/nodes/support/chat", json={"content": "hours"}, headers=AUTH).json()
    text = TEST_CONFIG.replace("We are open 9 to 5.", "Open all night.")
    path.write_text(text.replace("  echo:", NEW_NODE + "  echo:").split("  slow:")[0])
    result = client.post("/_emulator/reload", headers=CONTROL).json()
    assert result == {
        "applied": True,
        "generation": 2,
        "changes": {"added": ["helper"], "removed": ["slow"], "changed": ["support"]},
        "error": None,
        "errors": [],
    }
    response = client.post("/nodes/support/chat", json={"content": "hours"}, headers=AUTH)
    assert response.json()["content"] == "Open all night."
    assert response.headers["x-emulator-generation"] == "2"
    assert client.post("/nodes/helper/chat", json={"content": "hi"}).json()["content"] == (
        "helper: hi"
    )
    assert client.post("/nodes/slow/chat", json={"content": "hi"}).status_code == 404
    # The store is untouched: the thread is still there and continues.
    again = client.post(
        "/nodes/support/chat", json={"content": "hi", "threadId": thread["threadId"]}, headers=AUTH
    )
    assert again.status_code == 200


def test_reload_of_an_unchanged_file_applies_nothing(client: TestClient[Any], path: Path) -> None:
    path.write_text("# a comment moves every node down a line\n" + TEST_CONFIG)
    result = client.post("/_emulator/reload", headers=CONTROL).json()
    assert result["applied"] is False and result["generation"] == 1
    assert result["changes"] == {"added": [], "removed": [], "changed": []}


FLAKY = """version: 1
nodes:
  flaky:
    api: interlocute
    name: Flaky
    auth: {anonymous: true}
    faults:
      - {when: {regex: "^boom"}, status: 503, times: 1}
  other:
    api: interlocute
    name: Other
    auth: {anonymous: true}
"""


def test_a_fault_whose_regex_only_moved_keeps_counting_across_a_reload(
    client: TestClient[Any], path: Path
) -> None:
    # Where a regex is written is not what it does: the fault is the same one after a reload
    # that changes another node and moves this one down, so its `times: 1` stays used up.
    path.write_text(FLAKY)
    assert client.post("/_emulator/reload", headers=CONTROL).json()["applied"] is True
    assert client.post("/nodes/flaky/chat", json={"content": "boom"}).status_code == 503
    assert client.post("/nodes/flaky/chat", json={"content": "boom"}).status_code == 200

    path.write_text("# moved\n" + FLAKY.replace("name: Other", "name: Another"))
    result = client.post("/_emulator/reload", headers=CONTROL).json()
    assert result["applied"] is True and result["changes"]["changed"] == ["other"]
    assert client.post("/nodes/flaky/chat", json={"content": "boom"}).status_code == 200


def test_a_broken_file_keeps_the_last_good_config_until_fixed(
    client: TestClient[Any], path: Path
) -> None:
    path.write_text(TEST_CONFIG.replace("api: interlocute", "api: openai", 1))
    result = client.post("/_emulator/reload", headers=CONTROL).json()
    assert result["applied"] is False and result["generation"] == 1
    assert result["error"].startswith(f"{path}:5:10: api: expected one of")
    assert result["errors"][0]["line"] == 5 and result["errors"][0]["column"] == 10
    body = health(client)
    assert body["status"] == "degraded" and body["config"]["error"] == result["error"]
    assert client.post("/nodes/echo/chat", json={"content": "hi"}).status_code == 200

    path.write_text(TEST_CONFIG)
    assert (
        client.post("/_emulator/reload", headers=CONTROL).json()["applied"] is False
    )  # nothing changed
    body = health(client)
    assert body["status"] == "ok" and body["config"]["error"] is None
    assert body["generation"] == 1


def test_put_config_applies_a_document_without_touching_disk(
    client: TestClient[Any], path: Path
) -> None:
    document = TEST_CONFIG + NEW_NODE
    response = client.put("/_emulator/config", headers=CONTROL, content=document.encode())
    assert response.status_code == 200
    assert response.json()["applied"] is True
    assert response.json()["changes"]["added"] == ["helper"]
    assert client.post("/nodes/helper/chat", json={"content": "hi"}).status_code == 200
    assert health(client)["config"]["path"] == PUT_SOURCE
    assert path.read_text() == TEST_CONFIG

    # The file is the source of truth again once it is reloaded.
    result = client.post("/_emulator/reload", headers=CONTROL).json()
    assert result["applied"] is True and result["changes"]["removed"] == ["helper"]
    assert health(client)["config"]["path"] == str(path)


def test_put_config_answers_422_with_every_error(client: TestClient[Any]) -> None:
    document = TEST_CONFIG.replace("kind: lorem", "kind: lorme").replace(
        "order (ORD-", "order (ORD-("
    )
    response = client.put("/_emulator/config", headers=CONTROL, content=document.encode())
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["file"], e["line"]) for e in errors] == [(PUT_SOURCE, 14), (PUT_SOURCE, 34)]
    assert "regular expression" in errors[0]["message"] and "lorem" in errors[1]["message"]
    body = health(client)  # a rejected upload does not make the running server degraded
    assert body["status"] == "ok" and body["generation"] == 1


def test_put_an_empty_body_is_422(client: TestClient[Any]) -> None:
    response = client.put("/_emulator/config", headers=CONTROL, content=b"")
    assert response.status_code == 422
    assert "empty" in response.json()["errors"][0]["message"]


def test_a_save_made_before_the_watch_began_is_applied(path: Path) -> None:
    """The watch thread catches up once it is watching: a save made after the config was
    loaded but before the watch began (here: before the app even starts) is not lost."""
    app = app_for(path, watch=True)
    path.write_text(TEST_CONFIG + NEW_NODE)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        deadline = time.monotonic() + 5
        while health(client)["generation"] == 1:
            assert time.monotonic() < deadline, "the save before the watch was never applied"
            time.sleep(0.01)
        assert client.post("/nodes/helper/chat", json={"content": "hi"}).status_code == 200


def test_catching_up_on_an_unchanged_config_applies_nothing(path: Path) -> None:
    app = app_for(path, watch=True)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        time.sleep(CATCH_UP_MS / 1000 * 3)  # the catch-up reload has come and gone
        assert health(client)["generation"] == 1
        assert health(client)["status"] == "ok"


def test_a_config_uploaded_at_start_is_not_replaced_by_the_unchanged_file(path: Path) -> None:
    """Catching up reloads only a file saved since it was read: a test that uploads its
    config as soon as the server is up keeps it."""
    app = app_for(path, watch=True)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        document = (TEST_CONFIG + NEW_NODE).encode()
        assert client.put("/_emulator/config", headers=CONTROL, content=document).status_code == 200
        time.sleep(CATCH_UP_MS / 1000 * 3)  # the watch thread has reported meanwhile
        assert health(client)["config"]["path"] == PUT_SOURCE
        assert client.post("/nodes/helper/chat", json={"content": "hi"}).status_code == 200


def test_the_lifespan_watcher_reloads_on_save_and_stops_on_shutdown(path: Path) -> None:
    app = app_for(path, watch=True)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        path.write_text(TEST_CONFIG + NEW_NODE)
        deadline = time.monotonic() + 5
        while health(client)["generation"] == 1:
            assert time.monotonic() < deadline, "the watcher never reloaded"
            time.sleep(0.01)
        assert client.post("/nodes/helper/chat", json={"content": "hi"}).status_code == 200
    # Shutdown set the stop event: a save now changes nothing.
    path.write_text(TEST_CONFIG)
    assert app.state.engine.generation == 2
