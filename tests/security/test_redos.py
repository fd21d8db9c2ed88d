"""A rule's regex that backtracks without end fails its turn, naming the regex at
file:line:col, within a bounded time; the server keeps serving and nothing is stored."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import TestClient

from tests.conftest import make_app

CONFIG = """\
version: 1
nodes:
  rules:
    api: interlocute
    auth: {anonymous: true}
    model:
      kind: scripted
      rules:
        - when: {regex: "^order (\\\\d+)$"}
          reply: "Order {match.1}."
        - when: {regex: "^(a|a)+$"}
          reply: never
  chaos:
    api: interlocute
    auth: {anonymous: true}
    faults:
      - when: {regex: "^(b|b)+$"}
        status: 503
"""
EVIL = "a" * 40 + "!"  # 2**40 paths for `re`; stopped after 100 ms


def test_a_backtracking_rule_fails_the_turn_and_names_the_regex() -> None:
    with TestClient(make_app(CONFIG), base_url="http://127.0.0.1:8080") as client:
        started = time.monotonic()
        response = client.post("/nodes/rules/chat", json={"content": EVIL})
        assert time.monotonic() - started < 2
        assert response.status_code == 500
        message = response.json()["error"]["message"]
        assert "The regex at test.yaml:11:25 ('^(a|a)+$') took longer than 100 ms" in message
        assert client.get("/_emulator/threads").json()["threads"] == []
        # The server keeps serving, and the earlier rule still answers.
        ok = client.post("/nodes/rules/chat", json={"content": "order 42"})
        assert ok.json()["content"] == "Order 42."


def test_a_backtracking_fault_condition_fails_the_turn_too() -> None:
    with TestClient(make_app(CONFIG), base_url="http://127.0.0.1:8080") as client:
        response = client.post("/nodes/chaos/chat", json={"content": "b" * 40 + "!"})
        assert response.status_code == 500
        assert "test.yaml:17:23" in response.text
        ok: Any = client.post("/nodes/chaos/chat", json={"content": "hello"})
        assert ok.status_code == 200
