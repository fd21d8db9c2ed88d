"""A real `emulator serve` process: the seed's cURL commands, streams with httpx-sse,
hang-ups mid-stream, SIGKILL durability, and the CLI's refusals."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from emulator.testing import EmulatorServer
from tests.conftest import KEY, TEST_CONFIG
from tests.e2e.server import Server, run_cli

pytestmark = pytest.mark.subprocess


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "nodes.yaml"
    path.write_text(TEST_CONFIG)
    return path


@pytest.fixture
def server(config: Path, tmp_path: Path) -> Server:
    with Server(config, "--data", str(tmp_path / "data"), "--no-reload") as running:
        yield running


def curl(*args: str) -> str:
    done = subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_curl_examples_with_only_the_base_url_swapped(server: Server) -> None:
    base = f"http://support.localhost:{server.port}"
    auth = f"Authorization: Bearer {KEY}"
    sent = json.loads(
        curl(
            "-X",
            "POST",
            f"{base}/chat",
            "-H",
            auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            '{\n"content": "Hello! What can you do?"\n}',
        )
    )
    assert sent["content"] == "Hello! What can you do?"
    body = json.dumps({"content": "Tell me more about that.", "threadId": sent["threadId"]})
    more = json.loads(
        curl(
            "-X",
            "POST",
            f"{base}/chat",
            "-H",
            auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        )
    )
    assert more["threadId"] == sent["threadId"]
    streamed = curl(
        "-N",
        "-X",
        "POST",
        f"{base}/chat/stream",
        "-H",
        auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        '{\n"content": "Write a haiku about AI."\n}',
    )
    assert streamed.startswith("event: start\n")
    assert 'event: done\ndata: {"threadId":' in streamed
    by_path = json.loads(
        curl(
            "-X",
            "POST",
            f"{server.url}/nodes/support/chat",
            "-H",
            auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"content":"hours"}',
        )
    )
    assert by_path["content"] == "We are open 9 to 5."


def test_stream_with_httpx_sse_arrives_token_by_token(server: Server) -> None:
    with (
        httpx.Client(base_url=f"{server.url}/nodes/slow", timeout=10) as client,
        connect_sse(
            client,
            "POST",
            "/chat/stream",
            json={"content": "tell me"},
            headers={"Authorization": "Bearer sk-slow"},
        ) as source,
    ):
        arrivals = [(event.event, time.monotonic()) for event in source.iter_sse()]
    names = [name for name, _ in arrivals]
    assert names[0] == "start" and names[-1] == "done" and names.count("token") > 3
    # 20 tokens/s: the first token arrives well before the last one is produced
    assert arrivals[-1][1] - arrivals[1][1] > 0.1


def test_client_hanging_up_mid_stream_leaves_a_consistent_thread(server: Server) -> None:
    with httpx.Client(base_url=f"{server.url}/nodes/slow", timeout=10) as client:
        with connect_sse(
            client,
            "POST",
            "/chat/stream",
            json={"content": "a long one"},
            headers={"Authorization": "Bearer sk-slow"},
        ) as source:
            events = source.iter_sse()
            start = json.loads(next(events).data)
            next(events)  # one token, then hang up
        thread = client.get(f"{server.url}/_emulator/threads/{start['threadId']}").json()
        assert [m["role"] for m in thread["messages"]] == ["user", "assistant"]
        assert thread["messages"][1]["content"]
        # the server is fine and serves the next request
        again = client.post(
            "/chat",
            json={"content": "next", "threadId": start["threadId"]},
            headers={"Authorization": "Bearer sk-slow"},
        )
        assert again.status_code == 200


def raw(port: int, data: bytes, *, read: bool = True) -> bytes:
    """Send bytes on a fresh connection; what came back before the server closed or 5 s."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(data)
        if not read:
            return b""
        conn.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received


def test_broken_http_and_hang_ups_leave_the_server_serving(server: Server) -> None:
    body = b'{"content": "hello"}'
    head = (
        b"POST /nodes/support/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + KEY.encode() + b"\r\n"
    )
    assert raw(server.port, b"\x00\xff garbage \r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(server.port, b"GET / HTTP/9.9\r\n\r\n").startswith(b"HTTP/1.1 400")
    # a body that never arrives in full, then a hang-up; a request line that never ends
    raw(server.port, head + b"Content-Length: 1000\r\n\r\n" + body, read=False)
    raw(server.port, b"POST /nodes/support/chat HTTP/1.1\r\nHost", read=False)
    # a body shorter than it said is never taken for a message
    short = raw(server.port, head + b"Content-Length: 1000\r\n\r\n" + body)
    assert not short.startswith(b"HTTP/1.1 200")
    answer = raw(
        server.port, head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    )
    assert answer.startswith(b"HTTP/1.1 200")
    threads = httpx.get(f"{server.url}/_emulator/threads").json()["threads"]
    assert [t["messageCount"] for t in threads] == [2]  # only the whole request was served
    assert "Traceback" not in server.text


def test_query_credentials_never_reach_the_access_log(server: Server) -> None:
    url = f"{server.url}/nodes/support/chat?api_key=sk-leak-999&lang=en"
    assert httpx.post(url, json={"content": "hi"}, headers={"Authorization": f"Bearer {KEY}"})
    assert httpx.get(f"{server.url}/_emulator/health?token=tk-leak-888").status_code == 200
    server.stop()
    assert '"POST /nodes/support/chat?api_key=[REDACTED]&lang=en HTTP/1.1" 200' in server.text
    assert "leak" not in server.text


def test_the_access_log_leaves_out_successful_control_plane_reads(server: Server) -> None:
    # an open console polls health and loads its files: those lines would bury the chat requests
    assert httpx.get(f"{server.url}/_emulator/health").status_code == 200
    assert httpx.get(f"{server.url}/_emulator/ui/").status_code == 200
    assert httpx.get(f"{server.url}/_emulator/threads/nope").status_code == 404
    reply = httpx.post(
        f"{server.url}/nodes/support/chat",
        json={"content": "hi"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert reply.status_code == 200
    server.stop()
    assert '"POST /nodes/support/chat HTTP/1.1" 200' in server.text
    assert '"GET /_emulator/threads/nope HTTP/1.1" 404' in server.text  # errors stay
    assert "GET /_emulator/health" not in server.text
    assert "GET /_emulator/ui/" not in server.text


def test_sigkill_right_after_replies_loses_no_acknowledged_message(
    config: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    acknowledged: list[str] = []
    server = Server(config, "--data", str(data), "--no-reload").start()
    try:
        with httpx.Client(base_url=f"{server.url}/nodes/support", timeout=10) as client:
            thread = None
            for i in range(30):
                body = {"content": f"message {i}", **({"threadId": thread} if thread else {})}
                reply = client.post("/chat", json=body, headers={"Authorization": f"Bearer {KEY}"})
                assert reply.status_code == 200
                thread = reply.json()["threadId"]
                acknowledged.append(reply.json()["messageId"])
    finally:
        server.kill()  # SIGKILL: no shutdown hooks run
    with Server(config, "--data", str(data), "--no-reload") as restarted:
        stored = httpx.get(f"{restarted.url}/_emulator/threads/{thread}").json()
    ids = [m["id"] for m in stored["messages"] if m["role"] == "assistant"]
    assert ids == acknowledged
    assert len(stored["messages"]) == 60


def test_threads_survive_a_restart(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Server(config, "--data", str(data), "--no-reload") as first:
        sent = httpx.post(f"{first.url}/nodes/echo/chat", json={"content": "remember me"}).json()
    with Server(config, "--data", str(data), "--no-reload") as second:
        again = httpx.post(
            f"{second.url}/nodes/echo/chat",
            json={"content": "still there?", "threadId": sent["threadId"]},
        )
        assert again.status_code == 200
        thread = httpx.get(f"{second.url}/_emulator/threads/{sent['threadId']}").json()
    assert [m["content"] for m in thread["messages"]][:2] == [
        "remember me",
        "You said: remember me",
    ]


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "nodes.yaml"
    bad.write_text("version: 1\nnodes:\n  support:\n    api: interlocute\n    modle: echo\n")
    done = run_cli(["serve", "--config", str(bad), "--port", "0", "--memory"], cwd=tmp_path)
    assert done.returncode == 1
    assert f"{bad}:5:5" in done.stderr
    assert "did you mean 'model'" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_busy_port(config: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(
            ["serve", "--config", str(config), "--port", str(port), "--memory"], cwd=tmp_path
        )
    assert done.returncode == 1
    assert "already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_exit_codes(config: Path, tmp_path: Path) -> None:
    ok = run_cli(["check", str(config)], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("nodes:\n  a: [unclosed\n")
    bad = run_cli(["check", str(broken)], cwd=tmp_path)
    assert bad.returncode == 1
    assert str(broken) in bad.stderr


def test_serve_without_nodes_yaml_uses_the_bundled_demo(tmp_path: Path) -> None:
    with Server(None, "--memory", "--no-reload", cwd=tmp_path) as running:
        assert "bundled demo" in running.output[0]
        nodes = httpx.get(f"{running.url}/_emulator/nodes").json()["nodes"]
        # its replay node finds its fixture inside the package (there is no fixtures/ here)
        answer = httpx.post(
            f"{running.url}/v1/api/chat/faq",
            json={"message": "What is your return policy?"},
            headers={"Authorization": "Bearer sk-faq-123"},
        )
    assert len(nodes) >= 2
    assert answer.json()["data"]["response"] == (
        "You can return any item within 30 days for a full refund."
    )
    assert not any("warning" in line for line in running.output)


REPLAY_CONFIG = """\
version: 1
nodes:
  recorded:
    api: interlocute
    model: {kind: replay, fixture: demo}
    auth: {anonymous: true}
"""


def test_check_and_serve_look_at_replay_fixtures(tmp_path: Path) -> None:
    config = tmp_path / "nodes.yaml"
    config.write_text(REPLAY_CONFIG)
    missing = run_cli(["check", str(config)], cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "node 'recorded': fixture 'demo' not found: fixtures/demo.yaml does not exist"
    )
    # serve starts anyway (the fixture may be recorded later) and says what is missing
    with Server(config, "--memory", "--no-reload", cwd=tmp_path) as running:
        assert any(
            "warning: node 'recorded': fixture 'demo' not found" in line for line in running.output
        )
        (tmp_path / "fixtures").mkdir()
        (tmp_path / "fixtures" / "demo.yaml").write_text(
            "conversations: [{turns: [{message: hi, reply: Hello from the fixture.}]}]\n"
        )
        answer = httpx.post(f"{running.url}/nodes/recorded/chat", json={"content": "Hi"})
        assert answer.json()["content"] == "Hello from the fixture."
    ok = run_cli(["check", str(config)], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == (
        f"{config}: OK (1 node: recorded; fixtures of 1 replay node in fixtures)"
    )
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "demo.yaml").write_text("conversations: []\nturns: 1\n")
    broken = run_cli(["check", str(config), "--fixtures", str(other)], cwd=tmp_path)
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        f"node 'recorded': fixture 'demo':\n{other}/demo.yaml:2:1: unknown key 'turns' in fixture"
    )


STOPPING_CONFIG = """\
version: 1
defaults:
  model: echo
  latency: {first_token_ms: 0, tokens_per_second: 20}
nodes:
  il: {api: interlocute, auth: {api_keys: [k-il]}}
  slug: {api: agent-slug, auth: {api_keys: [k-slug]}}
  so: {api: sentientone, auth: {api_keys: [k-so]}}
  wd: {api: widget, auth: {api_keys: [k-wd]}}
"""
LONG = "word " * 200  # 10 s of tokens at 20 a second
STOP = "The emulator is shutting down"
# (path, headers, body, the last line each API's client sees when the server stops)
STREAMS = {
    "interlocute SSE": (
        "/nodes/il/chat/stream",
        {"Authorization": "Bearer k-il"},
        {"content": LONG},
        f'data: {{"error":{{"code":"internal_error","message":"{STOP}"}}}}',
    ),
    "interlocute NDJSON": (
        "/nodes/il/chat/stream",
        {"Authorization": "Bearer k-il", "Accept": "application/x-ndjson"},
        {"content": LONG},
        f'{{"type":"error","error":{{"code":"internal_error","message":"{STOP}"}}}}',
    ),
    "agent-slug": (
        "/v1/api/chat/slug",
        {"Authorization": "Bearer k-slug"},
        {"message": LONG, "stream": True},
        'data: {"data": null, "error": {"name": "InternalServerError", "message": '
        '"Internal server error", "details": {}}}',
    ),
    "sentientone": (
        "/v1/chat/stream",
        {"X-Api-Key": "k-so", "X-Agent-Id": "so"},
        {"message": LONG},
        f'data: {{"type":"error","error":{{"code":"internal_error","message":"{STOP}"}},'
        '"trace_id":"trc_...',
    ),
    "widget": (
        "/nodes/wd/v1/chat/stream",
        {"x-api-key": "k-wd"},
        {"sessionId": "s-1", "message": LONG},
        '{"type":"error","error":"Internal server error"}',
    ),
}


def _read_stream(url: str, headers: dict[str, str], body: object, lines: list[str]) -> None:
    with httpx.stream("POST", url, headers=headers, json=body, timeout=30) as response:
        lines.extend(line for line in response.iter_lines() if line)


def test_ctrl_c_ends_open_streams_cleanly_and_the_port_is_free_at_once(tmp_path: Path) -> None:
    """Ctrl-C with a keep-alive client and a stream of every API open: each stream gets its
    API's end event, the server says it stopped in one line and exits promptly, and a new
    server gets the same port at once, with every streamed turn still stored."""
    config = tmp_path / "nodes.yaml"
    config.write_text(STOPPING_CONFIG)
    data = str(tmp_path / "data")
    server = Server(config, "--data", data, "--no-reload").start()
    received: dict[str, list[str]] = {name: [] for name in STREAMS}
    readers = [
        threading.Thread(
            target=_read_stream, args=(server.url + path, headers, body, received[name])
        )
        for name, (path, headers, body, _) in STREAMS.items()
    ]
    try:
        keep_alive = httpx.Client(base_url=server.url)  # an idle connection, as a browser tab
        assert keep_alive.get("/_emulator/health").status_code == 200
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + 10
        while not all(len(lines) >= 3 for lines in received.values()):  # a token or two in
            assert time.monotonic() < deadline, received
            time.sleep(0.05)
        assert server.process is not None
        started = time.monotonic()
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=10) == 0
        assert time.monotonic() - started < 4  # generous: it was 5 s and a traceback
        for reader in readers:
            reader.join(timeout=10)
    finally:
        server.kill()
    for name, (_, _, _, last) in STREAMS.items():
        assert like(last, received[name][-1]), (name, received[name][-3:])
    assert "Traceback" not in server.text and "Error" not in server.text, server.text
    assert server.output[-1] == "emulator: stopped\n"
    keep_alive.close()
    with Server(config, "--data", data, "--no-reload", "--port", str(server.port)) as again:
        assert again.port == server.port
        threads = httpx.get(f"{again.url}/_emulator/threads").json()["threads"]
    assert sorted(t["node"] for t in threads) == ["il", "il", "slug", "so", "wd"]
    assert {t["messageCount"] for t in threads} == {2}


def like(shown: str, actual: str) -> bool:
    """`actual` is `shown`, where a trailing `...` stands for anything."""
    return actual.startswith(shown[:-3]) if shown.endswith("...") else actual == shown


def test_ctrl_c_on_a_recorder_ends_its_open_stream_and_is_quiet(tmp_path: Path) -> None:
    """The stream a recorder relays ends cleanly at once (the upstream's bytes so far, then
    the end of the body: the proxy has no event of its own to add), and nothing is recorded."""
    with EmulatorServer(STOPPING_CONFIG) as upstream:
        recorder = Server(
            None,
            *("--api", "widget", "--upstream", upstream.node_url("wd"), "--node", "wd"),
            cwd=tmp_path,
            command="record",
        ).start()
        assert recorder.process is not None
        lines: list[str] = []
        try:
            with httpx.stream(
                "POST",
                f"{recorder.url}/v1/chat/stream",
                headers={"x-api-key": "k-wd"},
                json={"sessionId": "s-1", "message": LONG},
                timeout=30,
            ) as response:
                for line in response.iter_lines():  # raises if the transfer is cut
                    lines.append(line)
                    if len(lines) == 3:
                        recorder.process.send_signal(signal.SIGINT)
            assert recorder.process.wait(timeout=10) == 0
        finally:
            recorder.kill()
    assert '"type":"token"' in lines[-1] and len(lines) < 100  # ended early, not at `done`
    assert "Traceback" not in recorder.text
    assert "not recorded: the recorder stopped before the reply ended" in recorder.text
    assert recorder.output[-1] == "emulator: stopped\n"
    assert not (tmp_path / "fixtures" / "wd.yaml").exists()
