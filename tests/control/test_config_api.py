"""GET /_emulator/config: the running config's source, generation, text and last error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from emulator.config.reloader import PUT_SOURCE
from tests.conftest import TEST_CONFIG
from tests.control.test_reload_api import NEW_NODE, app_for

PYTEST = {"X-Emulator-Client": "pytest"}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "nodes.yaml"
    file.write_text(TEST_CONFIG)
    return file


@pytest.fixture
def client(path: Path) -> Iterator[TestClient[Litestar]]:
    with TestClient(app_for(path), base_url="http://127.0.0.1:8080") as client:
        yield client


def config(client: TestClient[Any]) -> dict[str, Any]:
    response = client.get("/_emulator/config")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_config_shows_the_file_it_was_loaded_from(client: TestClient[Any], path: Path) -> None:
    body = config(client)
    assert body["path"] == str(path)
    assert body["generation"] == 1
    assert body["loadedAt"] == client.get("/_emulator/health").json()["config"]["loadedAt"]
    assert body["text"] == TEST_CONFIG
    assert body["error"] is None and body["errors"] == []


def test_a_broken_file_shows_its_text_and_error_at_its_line(
    client: TestClient[Any], path: Path
) -> None:
    broken = TEST_CONFIG.replace("api: interlocute", "api: openai", 1)
    path.write_text(broken)
    client.post("/_emulator/reload", headers=PYTEST)
    body = config(client)
    assert body["generation"] == 1  # still serving the last good config
    assert body["text"] == broken
    error = body["error"]
    assert (error["file"], error["line"], error["column"]) == (str(path), 5, 10)
    assert error["message"].startswith("api: expected one of")
    assert broken.splitlines()[error["line"] - 1][error["column"] - 1 :].startswith("openai")

    path.write_text(TEST_CONFIG + NEW_NODE)
    client.post("/_emulator/reload", headers=PYTEST)
    body = config(client)
    assert body["error"] is None and body["generation"] == 2
    assert body["text"] == TEST_CONFIG + NEW_NODE


def test_a_put_config_is_shown_until_the_file_is_reloaded(
    client: TestClient[Any], path: Path
) -> None:
    document = TEST_CONFIG + NEW_NODE
    assert client.put("/_emulator/config", content=document, headers=PYTEST).status_code == 200
    body = config(client)
    assert (body["path"], body["generation"], body["text"]) == (PUT_SOURCE, 2, document)

    rejected = client.put("/_emulator/config", content="version: 1\nnodes: [", headers=PYTEST)
    assert rejected.status_code == 422
    errors = rejected.json()["errors"]
    assert errors and all({"message", "line", "column"} <= set(e) for e in errors)
    assert errors[0]["line"] is not None and errors[0]["column"] is not None
    assert config(client)["text"] == document  # a rejected upload changes nothing

    client.post("/_emulator/reload", headers=PYTEST)
    body = config(client)
    assert (body["path"], body["generation"], body["text"]) == (str(path), 3, TEST_CONFIG)
