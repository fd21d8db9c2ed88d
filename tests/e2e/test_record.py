"""`emulator record` end to end: a real `emulator serve` as the upstream, one recorder per API in
front of it, clients talking to the recorders; then the fixture files on disk, and a replay
server answering the same conversations from them.

A twin upstream with the same seed gets every request directly, in the same order, so the bytes
a client gets through the recorder can be compared with what the upstream sends.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.config.fixtures import parse_fixture
from emulator.core.fixtures import REDACTED, Fixture, FixtureTurn
from tests.e2e.server import Server

pytestmark = pytest.mark.subprocess

UPSTREAM_CONFIG = """
version: 1
nodes:
  support:
    api: interlocute
    name: Support Assistant
    model:
      rules:
        - when: {contains: hours}
          reply: "We are open 9 to 5. Ask for {fake.first_name}."
        - when: {contains: sunday}
          reply: Closed on Sundays, sorry!
      fallback: echo
    auth:
      api_keys: [sk-support-123]
      jwt: {secret: jwt-secret-456, audience: support}
    faults:
      - when: {contains: flaky}
        stream_error_after: 2
  helpdesk:
    api: agent-slug
    name: Customer Support
    model:
      rules:
        - when: {turn: 2}
          reply: "Turn two of {node.name}."
      fallback: echo
    auth: {api_keys: [sk-slug-123]}
  researcher:
    api: sentientone
    name: Research Assistant
    model:
      rules:
        - when: {contains: warranty}
          reply: Two years, parts and labour.
          sources: [doc-warranty]
      fallback: lorem
    auth: {api_keys: [sk-sentient-123]}
    knowledge:
      - id: doc-warranty
        title: Warranty terms
        url: https://example.com/warranty
        source_type: web
        text: All devices carry a two-year warranty covering manufacturing defects.
      - id: doc-batteries
        title: Battery care
        text: Keep batteries between 20% and 80% charge and away from heat.
  widget:
    api: widget
    name: Website Widget
    model: {kind: echo, template: "Echo: {message}"}
    auth: {api_keys: [wk-widget-123]}
  slow:
    api: widget
    name: Slow Widget
    model: {kind: echo, template: "{message} one two three four five six seven eight nine ten"}
    auth: {api_keys: [wk-slow-123]}
    latency: {first_token_ms: 0, tokens_per_second: 30}
"""
SECRETS = [
    "sk-support-123",
    "jwt-secret-456",
    "sk-slug-123",
    "sk-sentient-123",
    "wk-widget-123",
    "wk-slow-123",
]
IL = {"Authorization": "Bearer sk-support-123"}
SLUG = {"Authorization": "Bearer sk-slug-123"}
SENT = {"X-Api-Key": "sk-sentient-123", "X-Agent-Id": "researcher"}
WIDGET = {"x-widget-api-key": "wk-widget-123"}


@dataclass
class Exchange:
    """One request as the client saw it through the recorder, and the twin's answer."""

    status: int
    body: bytes
    headers: httpx.Headers
    twin: bytes
    twin_headers: httpx.Headers

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Session:
    upstream: Server
    twin: Server
    recorders: dict[str, Server]
    down: Server
    fixtures: Path  # a copy of the fixture files as the session left them
    live: Path  # where the recorders write
    exchanges: dict[str, list[Exchange]] = field(default_factory=dict)

    def fixture(self, name: str) -> Fixture:
        return parse_fixture((self.fixtures / f"{name}.yaml").read_text())

    def send(
        self, api: str, path: str, headers: dict[str, str], body: Any, *, raw: bool = False
    ) -> Exchange:
        """POST through the recorder, then the same to the twin upstream."""
        prefix = PREFIXES[api]
        content = body if raw else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "X-Request-Id": "req-test", **headers}
        via = httpx.post(self.recorders[api].url + path, content=content, headers=headers)
        direct = httpx.post(self.twin.url + prefix + path, content=content, headers=headers)
        exchange = Exchange(
            via.status_code, via.content, via.headers, direct.content, direct.headers
        )
        self.exchanges.setdefault(api, []).append(exchange)
        return exchange


PREFIXES = {"interlocute": "/nodes/support", "agent-slug": "", "sentientone": "", "widget": ""}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("record")
    (root / "upstream.yaml").write_text(UPSTREAM_CONFIG)
    fixtures = root / "fixtures"
    common = ("--memory", "--no-reload", "--seed", "7")
    # The recorders need the upstream's port before it starts: pick one, so that all the
    # processes start at once (the later --port wins over the harness's --port 0).
    port = closed_port()
    upstream = Server(root / "upstream.yaml", *common, "--port", str(port))
    upstream_url = f"http://127.0.0.1:{port}"
    targets = {
        "interlocute": ("support", upstream_url + PREFIXES["interlocute"]),
        "agent-slug": ("helpdesk", upstream_url),
        "sentientone": ("researcher", upstream_url + "/"),
        "widget": ("widget", upstream_url),
    }
    recorders = {
        api: Server(
            root / "upstream.yaml",  # only for its secrets
            *("--api", api, "--upstream", url, "--node", alias, "--fixtures", str(fixtures)),
            command="record",
        )
        for api, (alias, url) in targets.items()
    }
    twin = Server(root / "upstream.yaml", *common)
    down = Server(
        None,
        *("--api", "agent-slug", "--node", "down", "--fixtures", str(fixtures)),
        *("--upstream", f"http://127.0.0.1:{closed_port()}/base"),
        cwd=root,
        command="record",
    )
    servers = [upstream, twin, down, *recorders.values()]
    try:
        for server in servers:
            server.spawn()
        for server in servers:
            server.ready()
        snapshot = root / "recorded"
        running = Session(upstream, twin, recorders, down, snapshot, fixtures)
        converse(running)
        shutil.copytree(fixtures, snapshot)
        yield running
    finally:
        for server in servers:  # all at once: each takes a moment to shut down
            if server.process is not None and server.process.poll() is None:
                server.process.terminate()
        for server in servers:
            server.stop()


def converse(s: Session) -> None:
    """Two turns or more in one conversation per API, streaming and not; a conversation with
    secrets in it; and requests that must not be recorded."""
    first = s.send("interlocute", "/chat", IL, {"content": "What are your hours?"}).json()
    thread = first["threadId"]
    s.send("interlocute", "/chat/stream", IL, {"content": "And on Sunday?", "threadId": thread})
    ndjson = {**IL, "Accept": "application/x-ndjson"}
    s.send("interlocute", "/chat/stream", ndjson, {"content": "Thanks", "threadId": thread})
    plain = {**IL, "Accept": "text/plain"}
    s.send("interlocute", "/chat/stream", plain, {"content": "Bye now", "threadId": thread})
    secret = "my key is sk-support-123, the jwt secret jwt-secret-456 and sk-slug-123"
    s.send("interlocute", "/chat/stream", IL, {"content": secret})
    s.send("interlocute", "/chat/stream", IL, {"content": "flaky, please"})  # mid-stream error
    s.send("interlocute", "/chat", {"Authorization": "Bearer wrong"}, {"content": "hi"})  # 401
    s.send("interlocute", "/chat", IL, b'{"content": "half', raw=True)  # malformed: 400

    slug = "/v1/api/chat/helpdesk"
    hello = s.send("agent-slug", slug, SLUG, {"message": "Hello there", "stream": False}).json()
    conversation = hello["data"]["conversationId"]
    more = {"message": "Tell me more", "stream": True, "conversationId": conversation}
    s.send("agent-slug", slug, SLUG, more)

    meta = sse_json(s.send("sentientone", "/v1/chat/stream", SENT, {"message": "warranty?"}))[0]
    follow = {"message": "And the batteries?", "conversation_id": meta["conversation_id"]}
    s.send("sentientone", "/v1/chat", SENT, follow)

    widget = "/nodes/widget/v1/chat/stream"
    s.send("widget", widget, WIDGET, {"sessionId": "s-1", "message": "Tell me about you"})
    s.send("widget", "/nodes/widget/chat", WIDGET, {"sessionId": "s-1", "message": "And prices?"})
    s.send("widget", widget, WIDGET, {"sessionId": "s-2", "message": "wk-widget-123 is my key"})


# -- reading what the clients got ----------------------------------------------------------


def sse_blocks(body: bytes) -> list[tuple[str, str]]:
    """(event, data) of each SSE event."""
    found = []
    for block in body.decode().split("\n\n"):
        if not block:
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((lines.get("event", "message"), lines["data"]))
    return found


def sse_json(exchange: Exchange) -> list[dict[str, Any]]:
    return [json.loads(data) for _, data in sse_blocks(exchange.body)]


def ndjson(exchange: Exchange) -> list[dict[str, Any]]:
    return [json.loads(line) for line in exchange.body.decode().splitlines() if line]


def interlocute_tokens(exchange: Exchange) -> list[str]:
    if exchange.headers["content-type"].startswith("application/x-ndjson"):
        return [e["content"] for e in ndjson(exchange) if e["type"] == "token"]
    return [json.loads(d)["content"] for e, d in sse_blocks(exchange.body) if e == "token"]


def texts(turn: FixtureTurn) -> list[str]:
    return [frame.text for frame in turn.frames]


def assert_timed(turn: FixtureTurn) -> None:
    ms = [frame.ms for frame in turn.frames]
    assert ms == sorted(ms) and ms[0] >= 0


# -- what the client got -------------------------------------------------------------------

GENERATED_AT = re.compile(rb'"createdAt":"[^"]+"')


def test_the_client_gets_byte_for_byte_what_the_upstream_sends(session: Session) -> None:
    for api, exchanges in session.exchanges.items():
        for exchange in exchanges:
            assert GENERATED_AT.sub(b"", exchange.body) == GENERATED_AT.sub(b"", exchange.twin), api
            for name in ("content-type", "x-conversation-id", "x-trace-id", "x-request-id"):
                assert exchange.headers.get(name) == exchange.twin_headers.get(name), (api, name)
    statuses = [e.status for e in session.exchanges["interlocute"]]
    assert statuses == [200, 200, 200, 200, 200, 200, 401, 400]


# -- the fixture files ---------------------------------------------------------------------


def test_interlocute_json_sse_ndjson_and_text_turns_land_in_one_conversation(
    session: Session,
) -> None:
    exchanges = session.exchanges["interlocute"]
    fixture = session.fixture("support")
    assert fixture.api == "interlocute"
    assert fixture.upstream == session.upstream.url + "/nodes/support"
    main, secret = fixture.conversations  # the flaky, 401 and malformed calls are not there
    assert main.id == exchanges[0].json()["threadId"]
    assert [t.message for t in main.turns] == [
        "What are your hours?",
        "And on Sunday?",
        "Thanks",
        "Bye now",
    ]
    json_turn, sse_turn, ndjson_turn, text_turn = main.turns
    assert texts(json_turn) == [exchanges[0].json()["content"]]
    assert (
        texts(sse_turn)
        == interlocute_tokens(exchanges[1])
        == ["Closed", " on", " Sundays", ",", " sorry", "!"]
    )
    assert texts(ndjson_turn) == interlocute_tokens(exchanges[2])
    assert text_turn.reply == exchanges[3].body.decode() == "Bye now"
    for turn in main.turns:
        assert_timed(turn)
    assert secret.id == sse_json(exchanges[4])[0]["threadId"]
    output = session.recorders["interlocute"].text
    assert f"recorded turn 4 of conversation {main.id} into " in output
    assert "POST /chat/stream: not recorded: an error event (internal_error: " in output
    assert "POST /chat: not recorded: the upstream answered 401" in output
    assert "POST /chat: not recorded: the body is not a chat message" in output


def test_agent_slug_json_then_sse(session: Session) -> None:
    hello, more = session.exchanges["agent-slug"]
    (conversation,) = session.fixture("helpdesk").conversations
    assert (
        conversation.id
        == hello.json()["data"]["conversationId"]
        == more.headers["x-conversation-id"]
    )
    first, second = conversation.turns
    assert (first.message, texts(first)) == ("Hello there", ["Hello there"])
    chunks = [json.loads(d)["chunk"] for _, d in sse_blocks(more.body) if d != "[DONE]"]
    assert texts(second) == chunks and second.reply == "Turn two of Customer Support."
    assert_timed(second)


def test_sentientone_keeps_the_sources(session: Session) -> None:
    stream, answer = session.exchanges["sentientone"]
    events = sse_json(stream)
    (conversation,) = session.fixture("researcher").conversations
    assert conversation.id == events[0]["conversation_id"] == answer.json()["conversation_id"]
    first, second = conversation.turns
    assert texts(first) == [e["content"] for e in events if e["type"] == "delta"]
    sent = next(e["sources"] for e in events if e["type"] == "sources")
    assert [s["id"] for s in sent] == ["doc-warranty"]
    for turn, sources in ((first, sent), (second, answer.json()["sources"])):
        assert len(turn.sources) == len(sources)
        for recorded, source in zip(turn.sources, sources, strict=True):
            fields = ("id", "title", "url", "source_type", "score", "snippet")
            assert tuple(getattr(recorded, f) for f in fields) == tuple(source[f] for f in fields)
    assert second.message == "And the batteries?"
    assert texts(second) == [answer.json()["content"]]


def test_widget_sessions_become_conversations(session: Session) -> None:
    first, second, _ = session.exchanges["widget"]
    main, secret = session.fixture("widget").conversations
    assert main.id == ndjson(first)[0]["conversationId"] == ndjson(second)[0]["conversationId"]
    for turn, exchange in zip(main.turns, (first, second), strict=True):
        assert texts(turn) == [e["token"] for e in ndjson(exchange) if e["type"] == "token"]
        assert_timed(turn)
    assert [t.reply for t in main.turns] == ["Echo: Tell me about you", "Echo: And prices?"]
    assert secret.turns[0].message == f"{REDACTED} is my key"


def test_no_credential_or_configured_secret_reaches_a_file(session: Session) -> None:
    files = sorted(session.fixtures.glob("*.yaml"))
    assert [f.name for f in files] == [
        "helpdesk.yaml",
        "researcher.yaml",
        "support.yaml",
        "widget.yaml",
    ]
    for file in files:
        text = file.read_text()
        for secret in [*SECRETS, "Bearer", "Authorization", "x-widget-api-key"]:
            assert secret.lower() not in text.lower(), (file.name, secret)
    (turn,) = session.fixture("support").conversations[1].turns
    expected = f"my key is {REDACTED}, the jwt secret {REDACTED} and {REDACTED}"
    assert turn.message == turn.reply == expected
    client_got = "".join(interlocute_tokens(session.exchanges["interlocute"][4]))
    assert "sk-support-123" in client_got  # the client still gets the reply as it was


# -- replaying what was recorded -----------------------------------------------------------

REPLAY_CONFIG = """
version: 1
nodes:
  support:
    api: interlocute
    model: {kind: replay, fixture: support}
    auth: {api_keys: [sk-support-123]}
  helpdesk:
    api: agent-slug
    name: Customer Support
    model: {kind: replay, fixture: helpdesk}
    auth: {api_keys: [sk-slug-123]}
  researcher:
    api: sentientone
    model: {kind: replay, fixture: researcher}
    auth: {api_keys: [sk-sentient-123]}
  widget:
    api: widget
    model: {kind: replay, fixture: widget}
    auth: {api_keys: [wk-widget-123]}
"""


def test_the_replay_model_answers_the_same_conversations(session: Session, tmp_path: Path) -> None:
    (tmp_path / "nodes.yaml").write_text(REPLAY_CONFIG)
    args = ("--memory", "--no-reload", "--fixtures", str(session.fixtures))
    with Server(tmp_path / "nodes.yaml", *args) as replay, httpx.Client(base_url=replay.url) as c:
        recorded = session.exchanges
        il = "/nodes/support"
        first = c.post(il + "/chat", json={"content": "what are your HOURS?"}, headers=IL).json()
        assert first["content"] == recorded["interlocute"][0].json()["content"]
        body = {"content": "And on Sunday?", "threadId": first["threadId"]}
        sse = c.post(il + "/chat/stream", json=body, headers=IL)
        assert interlocute_tokens(replayed(sse)) == interlocute_tokens(recorded["interlocute"][1])
        body = {"content": "Thanks", "threadId": first["threadId"]}
        lines = c.post(
            il + "/chat/stream", json=body, headers={**IL, "Accept": "application/x-ndjson"}
        )
        assert interlocute_tokens(replayed(lines)) == interlocute_tokens(recorded["interlocute"][2])
        body = {"content": "Bye now", "threadId": first["threadId"]}
        plain = c.post(il + "/chat/stream", json=body, headers={**IL, "Accept": "text/plain"})
        assert plain.text == "Bye now"

        slug = "/v1/api/chat/helpdesk"
        hello = c.post(slug, json={"message": "Hello there"}, headers=SLUG).json()["data"]
        assert hello["response"] == "Hello there"
        more = {
            "message": "Tell me more",
            "stream": True,
            "conversationId": hello["conversationId"],
        }
        assert c.post(slug, json=more, headers=SLUG).content == recorded["agent-slug"][1].body

        events = sse_json(
            replayed(c.post("/v1/chat/stream", json={"message": "warranty?"}, headers=SENT))
        )
        original = sse_json(recorded["sentientone"][0])
        assert [e["type"] for e in events] == [e["type"] for e in original]
        assert [e.get("content") for e in events] == [e.get("content") for e in original]
        assert events[1]["sources"] == original[1]["sources"]
        body = {"message": "And the batteries?", "conversation_id": events[0]["conversation_id"]}
        answer = c.post("/v1/chat", json=body, headers=SENT).json()
        assert answer["content"] == recorded["sentientone"][1].json()["content"]

        widget = {"x-api-key": "wk-widget-123"}
        for exchange, message in zip(
            recorded["widget"], ("Tell me about you", "And prices?"), strict=False
        ):
            got = c.post(
                "/v1/chat/stream", json={"sessionId": "s-9", "message": message}, headers=widget
            )
            tokens = [e["token"] for e in ndjson(replayed(got)) if e["type"] == "token"]
            assert tokens == [e["token"] for e in ndjson(exchange) if e["type"] == "token"]

        miss = c.post(il + "/chat", json={"content": "What are your hour?"}, headers=IL)
        assert miss.status_code == 500 and miss.json()["error"]["code"] == "replay_miss"
        assert "What are your hours?" in miss.headers["x-emulator-error"]


def replayed(response: httpx.Response) -> Exchange:
    assert response.status_code == 200, response.text
    return Exchange(200, response.content, response.headers, b"", httpx.Headers())


# -- streaming through, and failures ---------------------------------------------------------


def test_frames_pass_through_as_they_arrive(session: Session) -> None:
    """At 30 tokens a second the upstream takes half a second to produce 16 tokens: the client
    reads the first long before the last is made, and the fixture keeps the pacing."""
    arrivals: list[float] = []
    url = session.recorders["widget"].url + "/nodes/slow/v1/chat/stream"
    body = {"sessionId": "slow-1", "message": "go on and on and on"}
    with httpx.stream("POST", url, json=body, headers={"x-api-key": "wk-slow-123"}) as response:
        for line in response.iter_lines():
            if line and json.loads(line)["type"] == "token":
                arrivals.append(time.monotonic())
    assert len(arrivals) == 16
    assert arrivals[-1] - arrivals[0] > 0.3
    path = session.live / "widget.yaml"
    for _ in range(100):  # the turn is written before the response ends; allow a slow disk
        turn = parse_fixture(path.read_text()).conversations[-1].turns[-1]
        if turn.message == body["message"]:
            break
        time.sleep(0.02)
    assert turn.message == body["message"] and len(turn.frames) == 16
    assert turn.frames[-1].ms - turn.frames[0].ms > 300


def test_upstream_down_is_a_502_in_the_api_format(session: Session) -> None:
    response = httpx.post(
        session.down.url + "/v1/api/chat/helpdesk", json={"message": "hi"}, headers=SLUG
    )
    assert response.status_code == 502
    body = response.json()
    assert body["data"] is None and body["error"]["name"] == "BadGatewayError"
    assert "/base/v1/api/chat/helpdesk cannot be reached" in body["error"]["message"]
    assert "cannot be reached" in response.headers["x-emulator-error"]
    assert session.down.wait_for("cannot be reached") and "Traceback" not in session.down.text


def test_mode_new_replaces_the_fixture_with_the_first_turn_recorded(
    session: Session, tmp_path: Path
) -> None:
    old = tmp_path / "helpdesk.yaml"
    old.write_text("# hand-edited\nconversations: [{turns: [{message: old, reply: Old.}]}]\n")
    args = ("--api", "agent-slug", "--upstream", session.upstream.url, "--node", "helpdesk")
    with Server(
        None, *args, "--fixtures", str(tmp_path), "--mode", "new", cwd=tmp_path, command="record"
    ) as recorder:
        assert f"  Mode new: the first turn recorded replaces {old}." in recorder.text
        assert "old" in old.read_text()  # nothing recorded yet: left alone
        url = recorder.url + "/v1/api/chat/helpdesk"
        first = httpx.post(url, json={"message": "I forgot my password"}, headers=SLUG)
        conversation = first.json()["data"]["conversationId"]
        again = {"message": "thanks", "conversationId": conversation}
        assert httpx.post(url, json=again, headers=SLUG).status_code == 200
    text = old.read_text()
    assert "hand-edited" not in text and "message: old" not in text
    (recorded,) = parse_fixture(text).conversations
    assert recorded.id == conversation
    assert [t.message for t in recorded.turns] == ["I forgot my password", "thanks"]
