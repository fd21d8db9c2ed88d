"""The client snippets of the seeds against a real `emulator serve`, with only the base URL, key
and slug swapped (seed 000's JavaScript; 002, 003 and 004); and streams arriving frame by
frame."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.apis.golden import APIS_CONFIG
from tests.e2e.server import Server

pytestmark = pytest.mark.subprocess
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("seeds")
    (root / "nodes.yaml").write_text(APIS_CONFIG)
    with Server(root / "nodes.yaml", "--data", str(root / "data"), "--no-reload") as running:
        yield running


def shell(script: str, **env: str) -> str:
    """Run a seed's shell snippet with bash, as a user would paste it."""
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# Seed 002, "Basic Chat", "Continue Conversation" and "Streaming Response".
SLUG_BASIC = """curl -sS -X POST "BASE/v1/api/chat/customer-support" \\
  -H "Authorization: Bearer YOUR_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "message": "What are your business hours?",
    "stream": false
  }'"""
SLUG_CONTINUE = """curl -sS -X POST "BASE/v1/api/chat/customer-support" \\
  -H "Authorization: Bearer YOUR_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "message": "Can you elaborate on that?",
    "stream": false,
    "conversationId": "CONVERSATION"
  }'"""
SLUG_STREAM = """curl -sS -X POST "BASE/v1/api/chat/customer-support" \\
  -H "Authorization: Bearer YOUR_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"message": "Hello", "stream": true}' \\
  --no-buffer"""


@needs_curl
def test_seed_002_curl(server: Server) -> None:
    def run(script: str) -> str:
        return shell(script.replace("BASE", server.url).replace("YOUR_API_KEY", "sk-slug-123"))

    basic = json.loads(run(SLUG_BASIC))
    assert basic["error"] is None
    assert basic["data"]["response"] == "What are your business hours?"
    conversation = basic["data"]["conversationId"]
    more = json.loads(run(SLUG_CONTINUE.replace("CONVERSATION", conversation)))
    assert more["data"] == {
        "response": "Turn two of Customer Support.",
        "conversationId": conversation,
        "metadata": {"model": "gpt-4", "tokens": 12},
    }
    assert run(SLUG_STREAM) == 'data: {"chunk": "Hello"}\n\ndata: [DONE]\n\n'


# Seed 003, "Hello, agent", "Multi-turn" and "Streaming", verbatim but for the host.
SENTIENT_HELLO = """curl -N -X POST https://api.sentientone.ai/v1/chat/stream \\
-H "Content-Type: application/json" \\
-H "X-Api-Key: $SENTIENTONE_KEY" \\
-H "X-Agent-Id: $SENTIENTONE_AGENT" \\
-d '{ "message": "Hello, agent!" }'"""
SENTIENT_TURNS = """curl -N -X POST https://api.sentientone.ai/v1/chat/stream \\
-H "Content-Type: application/json" \\
-H "X-Api-Key: $SENTIENTONE_KEY" \\
-H "X-Agent-Id: $SENTIENTONE_AGENT" \\
-d '{ "message": "Hi, my order ORD-1234 hasn'\\''t arrived." }'"""
SENTIENT_CONTINUE = """curl -N -X POST https://api.sentientone.ai/v1/chat/stream \\
-H "Content-Type: application/json" \\
-H "X-Api-Key: $SENTIENTONE_KEY" \\
-H "X-Agent-Id: $SENTIENTONE_AGENT" \\
-d '{ "conversation_id": "conv-abc123", "message": "What carrier is it on?" }'"""
SENTIENT_HAIKU = """curl -N -X POST https://api.sentientone.ai/v1/chat/stream \\
-H "Content-Type: application/json" \\
-H "X-Api-Key: $SENTIENTONE_KEY" \\
-H "X-Agent-Id: $SENTIENTONE_AGENT" \\
-d '{ "message": "Stream me a haiku." }'"""


def sentient_events(text: str) -> list[dict[str, object]]:
    lines = [line for line in text.split("\n") if line]
    assert all(line.startswith("data: ") for line in lines), text
    return [json.loads(line.removeprefix("data: ")) for line in lines]


@needs_curl
def test_seed_003_curl(server: Server) -> None:
    env = {"SENTIENTONE_KEY": "sk-sentient-123", "SENTIENTONE_AGENT": "researcher"}

    def run(script: str) -> list[dict[str, object]]:
        host = "https://api.sentientone.ai"
        return sentient_events(shell("set -e; " + script.replace(host, server.url) + " -sS", **env))

    hello = run(SENTIENT_HELLO)
    assert [e["type"] for e in hello] == ["meta", "delta", "delta", "delta", "delta", "done"]
    assert "".join(str(e["content"]) for e in hello if e["type"] == "delta") == "Hello, agent!"
    first = run(SENTIENT_TURNS)
    conversation = str(first[0]["conversation_id"])
    assert conversation.startswith("conv-")
    second = run(SENTIENT_CONTINUE.replace("conv-abc123", conversation))
    assert second[0]["conversation_id"] == second[-1]["conversation_id"] == conversation
    assert run(SENTIENT_HAIKU)[-1]["type"] == "done"


# Seed 004: its cURL, JavaScript and Python snippets.
WIDGET_CURL = """curl -sS -X POST https://your-api-domain.com/v1/chat/stream \\
  -H "Content-Type: application/json" \\
  -H "x-api-key: your-api-key-here" \\
  -d '{
    "sessionId": "user-123",
    "message": "Tell me about your services"
  }'"""
WIDGET_JS = """const response = await fetch('https://your-api-domain.com/v1/chat/stream', {
  method: 'POST',
  headers: {
    'Content-Type': 'application/json',
    'x-api-key': 'your-api-key-here'
  },
  body: JSON.stringify({
    sessionId: 'user-123',
    message: 'Tell me about your services'
  })
});
const reader = response.body.getReader();
const decoder = new TextDecoder();
while (true) {
  const { done, value } = await reader.read();
  if (done) break;
  const chunk = decoder.decode(value);
  const lines = chunk.split('\\n').filter(line => line.trim());
  for (const line of lines) {
    const event = JSON.parse(line);
    switch (event.type) {
      case 'start':
        console.log('Stream started:', event.conversationId);
        break;
      case 'token':
        process.stdout.write(event.token);
        break;
      case 'done':
        console.log('\\nComplete message:', event.message);
        break;
      case 'error':
        console.error('Error:', event.error);
        break;
    }
  }
}
"""
WIDGET_PY = """import requests
import json
response = requests.post(
    'https://your-api-domain.com/v1/chat/stream',
    headers={
        'Content-Type': 'application/json',
        'x-api-key': 'your-api-key-here'
    },
    json={
        'sessionId': 'user-123',
        'message': 'Tell me about your services'
    },
    stream=True
)
for line in response.iter_lines():
    if line:
        event = json.loads(line)
        if event['type'] == 'start':
            print(f"Stream started: {event['conversationId']}")
        elif event['type'] == 'token':
            print(event['token'], end='', flush=True)
        elif event['type'] == 'done':
            print(f"\\nComplete message: {event['message']}")
        elif event['type'] == 'error':
            print(f"Error: {event['error']}")
"""
ANSWER = "Echo: Tell me about your services"


# Seed 000, "JavaScript: Send a message" and "JavaScript: Stream a response", as printed.
INTERLOCUTE_JS_SEND = """const response = await fetch(
"https://my-node.interlocute.ai/chat",
{
method: "POST",
headers: {
"Authorization": `Bearer ${process.env.INTERLOCUTE_API_KEY}`,
"Content-Type": "application/json",
},
body: JSON.stringify({ content: "Hello from JS!" }),
}
);
const data = await response.json();
console.log(data);"""
INTERLOCUTE_JS_STREAM = """const response = await fetch(
"https://my-node.interlocute.ai/chat/stream",
{
method: "POST",
headers: {
"Authorization": `Bearer ${process.env.INTERLOCUTE_API_KEY}`,
"Content-Type": "application/json",
},
body: JSON.stringify({ content: "Stream me a story." }),
}
);
const reader = response.body.getReader();
const decoder = new TextDecoder();
while (true) {
const { done, value } = await reader.read();
if (done) break;
process.stdout.write(decoder.decode(value));
}"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_seed_000_javascript_with_node_fetch(server: Server, tmp_path: Path) -> None:
    """The interlocute seed's two fetch snippets, with only the base URL swapped (the key comes
    from INTERLOCUTE_API_KEY, as the seed has it)."""
    base = f"{server.url}/nodes/support"
    env = {**os.environ, "INTERLOCUTE_API_KEY": "sk-support-123"}
    outputs = []
    for name, snippet in (("send", INTERLOCUTE_JS_SEND), ("stream", INTERLOCUTE_JS_STREAM)):
        script = tmp_path / f"{name}.mjs"  # top-level await needs an ES module
        script.write_text(snippet.replace("https://my-node.interlocute.ai", base))
        done = subprocess.run(
            ["node", str(script)], capture_output=True, text=True, timeout=30, env=env
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        outputs.append(done.stdout)
    sent, streamed = outputs
    assert "content: 'Hello from JS!'" in sent and "threadId: 'thr_" in sent  # console.log
    events = [block for block in streamed.split("\n\n") if block]
    assert events[0].startswith('event: start\ndata: {"threadId":"thr_')
    assert events[-1].startswith("event: done\n")
    tokens = [json.loads(e.split("data: ", 1)[1])["content"] for e in events[1:-1]]
    assert "".join(tokens) == "Stream me a story."


def widget_snippet(text: str, server: Server) -> str:
    return text.replace("https://your-api-domain.com", server.url).replace(
        "your-api-key-here", "wk-widget-123"
    )


def conversation_in(output: str) -> str:
    return output.split("Stream started: ")[1].split("\n")[0]


@needs_curl
def test_seed_004_curl(server: Server) -> None:
    lines = [json.loads(line) for line in shell(widget_snippet(WIDGET_CURL, server)).splitlines()]
    assert [e["type"] for e in lines] == ["start", *["token"] * 7, "done"]
    assert lines[-1] == {
        "type": "done",
        "message": ANSWER,
        "conversationId": lines[0]["conversationId"],
    }


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_seed_004_javascript_with_node_fetch(server: Server, tmp_path: Path) -> None:
    script = tmp_path / "widget.mjs"  # top-level await needs an ES module
    script.write_text(widget_snippet(WIDGET_JS, server))
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert f"{ANSWER}\nComplete message: {ANSWER}\n" in done.stdout
    assert len(conversation_in(done.stdout)) == 24


def test_seed_004_python_with_requests(server: Server) -> None:
    done = subprocess.run(
        [sys.executable, "-c", widget_snippet(WIDGET_PY, server)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(f"{ANSWER}\nComplete message: {ANSWER}\n")


# Every API flushes each frame as it is made: at 20 tokens/s the first token reaches the client
# well before the last one is produced.
SLOW: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    "agent-slug": (
        "/v1/api/chat/slow-slug",
        {"Authorization": "Bearer sk-slow-slug"},
        {"message": "tell me", "stream": True},
    ),
    "sentientone": (
        "/v1/chat/stream",
        {"X-Api-Key": "sk-slow-sentient", "X-Agent-Id": "slow-sentient"},
        {"message": "tell me"},
    ),
    "widget": (
        "/v1/chat/stream",
        {"x-api-key": "wk-slow-widget"},
        {"sessionId": "s", "message": "tell me"},
    ),
}


@pytest.mark.parametrize("case", SLOW.values(), ids=SLOW.keys())
def test_streams_arrive_frame_by_frame(
    server: Server, case: tuple[str, dict[str, str], dict[str, str]]
) -> None:
    path, headers, body = case
    arrivals: list[float] = []
    with (
        httpx.Client(base_url=server.url, timeout=10) as client,
        client.stream("POST", path, json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line:
                arrivals.append(time.monotonic())
    assert len(arrivals) > 5
    assert arrivals[-1] - arrivals[1] > 0.15


@pytest.mark.parametrize("case", SLOW.values(), ids=SLOW.keys())
def test_hanging_up_mid_stream_keeps_the_conversation(
    server: Server, case: tuple[str, dict[str, str], dict[str, str]]
) -> None:
    path, headers, body = case
    with httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream(
            "POST", path, json={**body, "sessionId": "hang"}, headers=headers
        ) as response:
            first = json.loads(next(response.iter_lines()).removeprefix("data: "))
            conversation = response.headers.get("x-conversation-id") or first.get(
                "conversation_id", first.get("conversationId")
            )
        # hung up after the first frame; the turn was stored before it went out
        thread = client.get(f"/_emulator/threads/{conversation}").json()
        assert [m["role"] for m in thread["messages"]] == ["user", "assistant"]
        assert thread["messages"][1]["content"]
        assert client.get("/_emulator/health").status_code == 200
