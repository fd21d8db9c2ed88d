"""EmulatorServer without pytest's help: the real app in a thread, driven over real HTTP."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from emulator.config.errors import ConfigError
from emulator.core.store import StoreError
from emulator.testing import ConfigRejected, EmulatorServer

FAQ: dict[str, Any] = {
    "version": 1,
    "nodes": {
        "helpline": {
            "api": "interlocute",
            "name": "FAQ",
            "model": {"kind": "echo", "template": "FAQ: {message}"},
            "auth": {"anonymous": True},
        }
    },
}
BROKEN = "version: 1\nnodes:\n  helpline:\n    api: nope\n"
SUPPORT_KEY = {"Authorization": "Bearer sk-support-123"}


def chat(server: EmulatorServer, alias: str, content: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{server.node_url(alias)}/chat", json={"content": content}, headers=headers)


def test_serves_a_config_and_reports_threads_and_journal() -> None:
    with EmulatorServer(FAQ) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        response = chat(server, "helpline", "hello")
        assert response.status_code == 200
        body = response.json()
        assert body["content"] == "FAQ: hello"
        assert [t["id"] for t in server.threads(node="helpline")] == [body["threadId"]]
        assert server.thread(body["threadId"])["messages"][-1]["content"] == "FAQ: hello"
        journal = server.journal(limit=5, node="helpline")
        assert [(e["path"], e["status"]) for e in journal] == [("/nodes/helpline/chat", 200)]
        assert server.health()["status"] == "ok"
        server.reset()
        assert server.threads() == []
        assert server.journal() == []


def test_configure_swaps_the_config_and_restore_brings_it_back() -> None:
    with EmulatorServer() as server:  # the bundled demo
        assert chat(server, "support", "ping", **SUPPORT_KEY).status_code == 200
        result = server.configure(FAQ)
        assert result["applied"] is True
        assert result["changes"]["added"] == ["helpline"]
        assert chat(server, "support", "ping", **SUPPORT_KEY).status_code == 404
        assert chat(server, "helpline", "hi").json()["content"] == "FAQ: hi"
        server.restore()
        assert chat(server, "support", "ping", **SUPPORT_KEY).status_code == 200
        assert chat(server, "helpline", "hi").status_code == 404


def test_configure_with_errors_raises_them_and_keeps_the_config() -> None:
    with EmulatorServer(FAQ) as server:
        with pytest.raises(ConfigRejected) as caught:
            server.configure(BROKEN)
        assert isinstance(caught.value, ConfigError)
        (error,) = caught.value.errors
        assert (error["line"], error["column"]) == (4, 10)
        assert error["message"].startswith("api: expected one of interlocute")
        assert ":4:10: api: expected one of" in str(caught.value)
        assert chat(server, "helpline", "still here").status_code == 200
        assert server.health()["generation"] == 1


def test_a_config_with_errors_raises_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"<config>:4:10: api: expected one of"):
        EmulatorServer(BROKEN)
    with pytest.raises(ConfigError, match="does not exist"):
        EmulatorServer(tmp_path / "missing.yaml")
    (tmp_path / "data").write_text("a file where the data directory should be")
    with pytest.raises(StoreError):
        EmulatorServer(FAQ, data=tmp_path / "data").start()
    assert not [t for t in threading.enumerate() if t.name.startswith("emulator-server")]


def test_a_config_file_and_a_data_directory(tmp_path: Path) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_text(yaml.safe_dump(FAQ))
    with EmulatorServer(path, data=tmp_path / "data") as server:
        thread_id = chat(server, "helpline", "remember me").json()["threadId"]
        assert server.health()["config"]["path"] == str(path)
    with EmulatorServer(str(path), data=tmp_path / "data") as server:  # a str path works too
        assert server.thread(thread_id)["messages"][0]["content"] == "remember me"


def test_stop_closes_the_port_and_joins_the_thread() -> None:
    server = EmulatorServer(FAQ).start()
    url, name = server.url, f"emulator-server-{server.port}"
    assert name in [t.name for t in threading.enumerate()]
    server.stop()
    assert name not in [t.name for t in threading.enumerate()]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_emulator/health")
    server.stop()  # a second stop does nothing
    with pytest.raises(RuntimeError, match="not running"):
        server.health()


def test_stop_ends_an_open_stream_with_its_error_event_at_once() -> None:
    slow = {**FAQ, "defaults": {"latency": {"tokens_per_second": 20}}}
    server = EmulatorServer(slow).start()
    lines: list[str] = []
    url = f"{server.node_url('helpline')}/chat/stream"
    with httpx.stream("POST", url, json={"content": "word " * 200}, timeout=10) as response:
        received = response.iter_lines()
        while "event: token" not in lines:
            lines.append(next(received))
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        lines.extend(received)
    stopper.join(timeout=10)
    assert not stopper.is_alive()
    assert lines[-3:] == [
        "event: error",
        'data: {"error":{"code":"internal_error","message":"The emulator is shutting down"}}',
        "",
    ]


def test_stop_answers_a_reply_still_waiting_out_its_latency_at_once() -> None:
    slow = {**FAQ, "defaults": {"latency": {"tokens_per_second": 20}}}  # 10 s for this reply
    server = EmulatorServer(slow).start()
    answers: list[httpx.Response] = []
    url = f"{server.node_url('helpline')}/chat"
    asking = threading.Thread(
        target=lambda: answers.append(httpx.post(url, json={"content": "word " * 200}, timeout=10))
    )
    asking.start()
    deadline = time.monotonic() + 5
    while not server.journal() and time.monotonic() < deadline:
        time.sleep(0.02)  # the request is in: its turn is stored, its reply is waiting
    server.stop()
    asking.join(timeout=10)
    (answer,) = answers
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {"code": "internal_error", "message": "The emulator is shutting down"}
    }
