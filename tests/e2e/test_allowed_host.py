"""`emulator serve --allowed-host` and EMULATOR_ALLOWED_HOSTS against a real server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server

CONFIG = "version: 1\nnodes:\n  support: {api: interlocute, name: Support, model: echo}\n"


def test_allowed_hosts_from_the_flag_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "nodes.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("EMULATOR_ALLOWED_HOSTS", "ci-runner, .corp.test")
    with Server(config, "--memory", "--allowed-host", "emulator") as server:
        url = f"{server.url}/_emulator/health"
        for host in ("localhost", "127.0.0.1", "emulator", "ci-runner", "a.corp.test"):
            assert httpx.get(url, headers={"Host": f"{host}:{server.port}"}).status_code == 200
        for host in ("attacker.example", "emulator.attacker.example", "corp.test.example"):
            refused = httpx.get(url, headers={"Host": host})
            assert refused.status_code == 403, host
            assert refused.json()["error"]["code"] == "forbidden"
        # The chat API answers every name.
        chat = httpx.post(
            f"{server.url}/nodes/support/chat",
            json={"content": "hi"},
            headers={"Host": "attacker.example", "Authorization": "Bearer any-key"},
        )
        assert chat.status_code == 200, chat.text
        assert chat.json()["content"] == "hi"
