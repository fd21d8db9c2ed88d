"""Issue 9 item 5: a node the config file names but that did not load (the file has errors)
says so in its API's 404; a mistyped alias's 404 names the closest one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.loader import load_config
from emulator.config.reloader import Reloader
from emulator.core.engine import Engine
from emulator.core.store import TinyStore
from tests.apis.golden import APIS_CONFIG, send
from tests.conftest import make_app

CONTROL = {"X-Emulator-Client": "pytest"}
GOOD = """
version: 1
nodes:
  support:
    api: interlocute
    name: Support
    model: echo
    auth: {api_keys: [sk-support-123]}
"""
# The README's replay walkthrough as it once was: the new nodes reuse support's key.
BROKEN = (
    GOOD
    + """
  support-replay:
    api: interlocute
    name: Support replay
    model: echo
    auth: {api_keys: [sk-support-123]}
  widget-replay:
    api: widget
    name: Widget replay
    model: echo
    auth: {api_keys: [sk-support-123]}
"""
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "nodes.yaml"
    file.write_text(GOOD)
    return file


@pytest.fixture
def client(path: Path) -> Iterator[TestClient[Any]]:
    engine = Engine(load_config(path), TinyStore(None), seed=7)
    app = build_app(engine, reloader=Reloader(engine, path))
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client


def break_config(client: TestClient[Any], path: Path) -> None:
    path.write_text(BROKEN)
    assert client.post("/_emulator/reload", headers=CONTROL).json()["applied"] is False


def test_a_node_in_the_broken_file_says_why_it_is_not_served(
    client: TestClient[Any], path: Path
) -> None:
    break_config(client, path)
    response = client.post(
        "/nodes/support-replay/chat",
        json={"content": "hi"},
        headers={"Authorization": "Bearer sk-support-123"},
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    message = error["message"]
    assert message.startswith(
        "Node 'support-replay' not found. Node 'support-replay' is in the config file but is "
        "not loaded, because the file has errors: "
    )
    assert (
        f"{path}:14:23: api_keys: " in message
        and "'sk-support-123' is also a key of node 'support'" in message
    )


def test_the_reason_comes_in_the_nodes_own_api_format(client: TestClient[Any], path: Path) -> None:
    break_config(client, path)
    response = client.post(
        "/v1/chat/stream",
        json={"sessionId": "u", "message": "hi"},
        headers={"Host": "widget-replay.localhost:8080", "x-api-key": "sk-support-123"},
    )
    assert response.status_code == 404
    text = response.json()["error"]
    assert text.startswith("Not found. Node 'widget-replay' is in the config file but is not")


def test_once_the_file_is_fixed_the_node_answers(client: TestClient[Any], path: Path) -> None:
    break_config(client, path)
    added = BROKEN.removeprefix(GOOD)
    fixed = GOOD + added.replace("sk-support-123", "sk-replay-1", 1).replace("sk-support-123", "x")
    path.write_text(fixed)
    assert client.post("/_emulator/reload", headers=CONTROL).json()["applied"] is True
    response = client.post(
        "/nodes/support-replay/chat",
        json={"content": "hi"},
        headers={"Authorization": "Bearer sk-replay-1"},
    )
    assert response.status_code == 200


# (path, headers, body, the 404 body; sentientone's without its trace_id)
TYPOS: dict[str, tuple[str, dict[str, str], Any, Any]] = {
    "interlocute by path": (
        "/nodes/suport/chat",
        {},
        {"content": "hi"},
        {
            "error": {
                "code": "not_found",
                "message": "Node 'suport' not found. Did you mean 'support'?",
            }
        },
    ),
    "agent-slug by slug": (
        "/v1/api/chat/customer-suport",
        {"Authorization": "Bearer sk-slug-123"},
        {"message": "hi"},
        {
            "data": None,
            "error": {
                "name": "NotFoundError",
                "message": "Agent with slug 'customer-suport' not found. "
                "Did you mean 'customer-support'?",
                "details": {},
            },
        },
    ),
    "sentientone by agent id": (
        "/v1/chat/stream",
        {"X-Agent-Id": "reseacher", "X-Api-Key": "sk-sentient-123"},
        {"message": "hi"},
        {
            "error": {
                "code": "agent_not_found",
                "message": "Agent 'reseacher' not found. Did you mean 'researcher'?",
            }
        },
    ),
    "widget by Host": (
        "/chat",
        {"Host": "widgt.localhost:8080", "x-api-key": "wk-widget-123"},
        {"sessionId": "u", "message": "hi"},
        {"error": "Not found. Did you mean 'widget'?"},
    ),
    "nothing close": (
        "/nodes/zzzzzz/chat",
        {},
        {"content": "hi"},
        {"error": {"code": "not_found", "message": "Node 'zzzzzz' not found"}},
    ),
}


@pytest.mark.parametrize("case", TYPOS.values(), ids=TYPOS.keys())
def test_a_mistyped_name_gets_did_you_mean(case: tuple[str, dict[str, str], Any, Any]) -> None:
    path, headers, body, expected = case
    with TestClient(make_app(APIS_CONFIG), base_url="http://127.0.0.1:8080") as client:
        response = send(client, path, headers, body)
    assert response.status_code == 404
    seen = response.json()
    seen.pop("trace_id", None)
    assert seen == expected
