"""Conversations of agent-slug, sentientone and widget survive a restart of `emulator serve`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.apis.golden import APIS_CONFIG
from tests.e2e.server import Server

pytestmark = pytest.mark.subprocess
SLUG = ("/v1/api/chat/helpdesk", {"Authorization": "Bearer sk-slug-123"})
SENTIENT = ("/v1/chat", {"X-Api-Key": "sk-sentient-123", "X-Agent-Id": "researcher"})
WIDGET = ("/chat", {"x-api-key": "wk-widget-123"})


def widget_conversation(client: httpx.Client) -> str:
    path, headers = WIDGET
    reply = client.post(path, json={"sessionId": "user-1", "message": "hi"}, headers=headers)
    return str(json.loads(reply.text.splitlines()[0])["conversationId"])


def test_conversations_survive_a_restart(tmp_path: Path) -> None:
    config = tmp_path / "nodes.yaml"
    config.write_text(APIS_CONFIG)
    args = ("--data", str(tmp_path / "data"), "--no-reload")
    with Server(config, *args) as first, httpx.Client(base_url=first.url, timeout=10) as client:
        slug = client.post(SLUG[0], json={"message": "one"}, headers=SLUG[1]).json()["data"]
        sentient = client.post(SENTIENT[0], json={"message": "one"}, headers=SENTIENT[1]).json()
        widget = widget_conversation(client)
    with Server(config, *args) as second, httpx.Client(base_url=second.url, timeout=10) as client:
        body = {"message": "two", "conversationId": slug["conversationId"]}
        again = client.post(SLUG[0], json=body, headers=SLUG[1]).json()["data"]
        assert again["response"] == "Turn two of Customer Support."
        body = {"message": "two", "conversation_id": sentient["conversation_id"]}
        more = client.post(SENTIENT[0], json=body, headers=SENTIENT[1])
        assert more.json()["conversation_id"] == sentient["conversation_id"]
        assert widget_conversation(client) == widget
