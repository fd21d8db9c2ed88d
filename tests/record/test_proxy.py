"""The proxy in process, through HTTP: a fake upstream behind the `HttpxUpstream` seam
(`httpx.MockTransport`) sees what is forwarded and answers what a test needs, failures included."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from emulator.apis.registry import TRANSCRIBERS, dialect
from emulator.config.fixtures import FixtureLibrary, parse_fixture
from emulator.core.fixtures import REDACTED, Fixture
from emulator.record.proxy import Proxy, build_proxy
from emulator.record.recorder import Recorder
from emulator.record.upstream import HttpxUpstream, public_url
from tests.conftest import FakeClock

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "http://upstream.test/base"


class Rig:
    """A proxy for one API in front of a fake upstream, recording into a temporary directory."""

    def __init__(self, tmp_path: Path, api: str, handler: Handler, base: str = BASE) -> None:
        self.seen: list[httpx.Request] = []
        self.clock = FakeClock()
        self.directory = tmp_path / "fixtures"

        def record(request: httpx.Request) -> httpx.Response:
            self.seen.append(request)
            return handler(request)

        upstream = HttpxUpstream(5.0, transport=httpx.MockTransport(record))
        recorder = Recorder(
            FixtureLibrary(self.directory), "rec", api=api, upstream=base, secrets={"cfg-secret"}
        )
        proxy = Proxy(upstream, base, TRANSCRIBERS[api], dialect(api), recorder, self.clock)
        self.app: Litestar = build_proxy(proxy)

    def fixture(self) -> Fixture:
        return parse_fixture((self.directory / "rec.yaml").read_text())

    @property
    def recorded(self) -> bool:
        return (self.directory / "rec.yaml").exists()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Callable[..., TestClient[Litestar]]]:
    clients: list[TestClient[Litestar]] = []

    def make(api: str, handler: Handler, base: str = BASE) -> TestClient[Litestar]:
        made = Rig(tmp_path, api, handler, base)
        client = TestClient(made.app).__enter__()
        client.rig = made  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def json_reply(body: dict[str, Any], status: int = 200, **headers: str) -> Handler:
    return lambda _: httpx.Response(status, json=body, headers=headers)


# -- forwarding ------------------------------------------------------------------------------


def test_forwards_method_path_query_body_and_the_callers_headers(rig: Any) -> None:
    client = rig("interlocute", json_reply({"content": "hi", "threadId": "thr_1"}))
    client.post(
        "/chat/a%20b?x=1&y=2",
        content=b'{"content": "hello"}',
        headers={
            "Authorization": "Bearer sk-1",
            "X-Custom": "kept",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "dropped",
            "Keep-Alive": "timeout=5",
            "Accept-Encoding": "gzip",
        },
    )
    (sent,) = client.rig.seen
    assert sent.method == "POST"
    assert str(sent.url) == f"{BASE}/chat/a%20b?x=1&y=2"
    assert sent.content == b'{"content": "hello"}'
    assert sent.headers["authorization"] == "Bearer sk-1"
    assert sent.headers["x-custom"] == "kept"
    assert sent.headers["host"] == "upstream.test"  # the upstream's, not the proxy's
    assert sent.headers["accept-encoding"] == "identity"  # so the reply can be read
    assert sent.headers["user-agent"] == "testclient"  # the caller's, not httpx's
    for name in ("x-hop", "keep-alive"):
        assert name not in sent.headers
    assert sent.headers.get("connection") != "keep-alive, X-Hop"


def test_passes_status_headers_and_body_through_minus_hop_by_hop(rig: Any) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        headers = {
            "Content-Type": "text/markdown; charset=utf-8",
            "ETag": '"abc"',
            "Connection": "X-Hop",
            "X-Hop": "1",
            "Keep-Alive": "timeout=5",
        }
        return httpx.Response(404, content=b"# nope", headers=headers)

    client = rig("interlocute", handler)
    response = client.get("/chit/identity", headers={"Accept": "text/markdown"})
    assert (response.status_code, response.content) == (404, b"# nope")
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["etag"] == '"abc"'
    assert "x-hop" not in response.headers and "keep-alive" not in response.headers
    assert not client.rig.recorded


# -- recording -------------------------------------------------------------------------------


def sse_stream(clock: FakeClock, *blocks: str, fail: bool = False) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        for block in blocks:
            clock.advance(0.125)  # each frame arrives 125 ms after the one before
            yield block.encode()
        if fail:
            raise httpx.ReadError("connection reset")

    return chunks()


def interlocute_sse(rig_client: Any, *, fail: bool = False, done: bool = True) -> Handler:
    clock = rig_client.rig.clock
    blocks = [
        'event: start\ndata: {"threadId":"thr_cfg-secret","messageId":"m"}\n\n',
        'event: token\ndata: {"content":"Your key "}\n\n',
        'event: token\ndata: {"content":"sk-caller is cfg-"}\n\nevent: tok',
        'en\r\ndata: {"content":"secret."}\r\n\r\n',
        *(['event: done\ndata: {"threadId":"thr_cfg-secret"}\n\n'] if done else []),
    ]
    headers = {"Content-Type": "text/event-stream"}
    return lambda _: httpx.Response(
        200, headers=headers, content=sse_stream(clock, *blocks, fail=fail)
    )


def test_a_streamed_turn_is_recorded_with_its_timing_and_redacted(rig: Any) -> None:
    handlers: list[Handler] = []
    client = rig("interlocute", lambda request: handlers[0](request))
    handlers.append(interlocute_sse(client))
    body = {"content": "is sk-caller safe?"}
    response = client.post("/chat/stream", json=body, headers={"Authorization": "Bearer sk-caller"})
    assert "sk-caller is cfg-" in response.text  # the caller gets the reply as it was
    fixture = client.rig.fixture()
    assert fixture.api == "interlocute" and fixture.upstream == BASE
    (conversation,) = fixture.conversations
    assert conversation.id == f"thr_{REDACTED}"
    (turn,) = conversation.turns
    assert turn.message == f"is {REDACTED} safe?"
    assert turn.reply == f"Your key {REDACTED} is {REDACTED}."
    # the configured secret was cut across the last two frames: those became one, at the
    # later one's time; the first keeps its own
    assert [(f.text, f.ms) for f in turn.frames] == [
        ("Your key ", 250),
        (f"{REDACTED} is {REDACTED}.", 500),
    ]


def test_the_next_turn_of_a_conversation_joins_it(rig: Any, caplog: Any) -> None:
    replies = iter(["One.", "Two."])
    client = rig(
        "agent-slug",
        lambda _: httpx.Response(
            200, json={"data": {"response": next(replies), "conversationId": "c1"}, "error": None}
        ),
    )
    with caplog.at_level(logging.INFO, logger="emulator"):
        for message in ("first", "second"):
            client.post("/v1/api/chat/bot", json={"message": message, "conversationId": "c1"})
    (conversation,) = client.rig.fixture().conversations
    assert [(t.message, t.reply) for t in conversation.turns] == [
        ("first", "One."),
        ("second", "Two."),
    ]
    assert (
        f"recorded turn 2 of conversation c1 into {client.rig.directory / 'rec.yaml'}"
        in caplog.text
    )


@pytest.mark.parametrize(
    ("why", "expected"),
    [
        ("error status", "not recorded: the upstream answered 500"),
        ("no done event", "not recorded: the reply ended before its end event"),
        ("upstream broke off", "not recorded: the upstream broke off: The upstream"),
        ("malformed body", "not recorded: the body is not a chat message"),
    ],
)
def test_what_is_not_recorded_says_why(rig: Any, caplog: Any, why: str, expected: str) -> None:
    handlers: list[Handler] = []
    client = rig("interlocute", lambda request: handlers[0](request))
    if why == "error status":
        handlers.append(json_reply({"error": {"code": "internal_error", "message": "x"}}, 500))
    elif why == "malformed body":
        handlers.append(json_reply({"error": {"code": "invalid_request", "message": "x"}}, 400))
    else:
        handlers.append(interlocute_sse(client, done=False, fail=why == "upstream broke off"))
    body = b'{"content": "unterminated' if why == "malformed body" else b'{"content": "hi"}'
    with caplog.at_level(logging.INFO, logger="emulator"):
        response = client.post("/chat/stream", content=body)
    assert response.status_code in (200, 400, 500)
    assert client.rig.seen[0].content == body  # forwarded as it was, whatever it was
    assert expected in caplog.text
    assert not client.rig.recorded


# -- the proxy's own errors, in each API's format ------------------------------------------------

DOWN = {
    "interlocute": lambda b: b["error"]["code"],
    "agent-slug": lambda b: b["error"]["name"],
    "sentientone": lambda b: b["error"]["code"],
    "widget": lambda b: b["error"],
}
CODES = {
    "interlocute": ("upstream_unavailable", "upstream_timeout", "payload_too_large"),
    "agent-slug": ("BadGatewayError", "GatewayTimeoutError", "PayloadTooLargeError"),
    "sentientone": ("upstream_unavailable", "upstream_timeout", "payload_too_large"),
    "widget": ("Bad gateway", "Gateway timeout", "Payload too large"),
}


def raises(exc: Exception) -> Handler:
    def handler(_: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize("api", DOWN)
def test_upstream_unreachable_is_502_in_the_api_format(rig: Any, api: str, caplog: Any) -> None:
    client = rig(api, raises(httpx.ConnectError("Connection refused")))
    with caplog.at_level(logging.WARNING, logger="emulator"):
        response = client.post("/chat", json={"message": "hi"}, headers={"X-Request-Id": "r-1"})
    assert response.status_code == 502
    assert DOWN[api](response.json()) == CODES[api][0]
    reason = f"The upstream {BASE}/chat cannot be reached: Connection refused"
    assert response.headers["x-emulator-error"] == reason
    assert response.headers["x-request-id"] == "r-1"
    assert f"POST /chat: {reason} (answered 502)" in caplog.text


@pytest.mark.parametrize("api", DOWN)
def test_upstream_timeout_is_504_in_the_api_format(rig: Any, api: str) -> None:
    client = rig(api, raises(httpx.ReadTimeout("timed out")))
    response = client.post("/v1/chat/stream", json={"message": "hi"})
    assert response.status_code == 504
    assert DOWN[api](response.json()) == CODES[api][1]
    assert "did not answer in time" in response.headers["x-emulator-error"]


@pytest.mark.parametrize("api", DOWN)
def test_a_body_over_1_mib_is_413_and_not_forwarded(rig: Any, api: str) -> None:
    client = rig(api, json_reply({}))
    response = client.post("/chat", content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert DOWN[api](response.json()) == CODES[api][2]
    assert client.rig.seen == []


def test_a_content_length_that_is_not_a_number_is_400_and_not_forwarded(rig: Any) -> None:
    client = rig("interlocute", json_reply({}))
    response = client.post("/chat", content=b"{}", headers=[(b"content-length", b"2x")])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert client.rig.seen == []


def test_an_unusable_upstream_url_is_502(rig: Any) -> None:
    client = rig("interlocute", json_reply({}), base="http://xn--/base")  # not valid IDNA
    response = client.post("/chat", json={"content": "hi"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert "is not usable" in response.json()["error"]["message"]


def test_public_url_drops_credentials_query_and_fragment() -> None:
    url = "https://user:pa55@api.example.com:8443/v1?key=sk-x#top"
    assert public_url(url) == "https://api.example.com:8443/v1"


def test_sources_and_json_replies(rig: Any) -> None:
    source = {"index": 0, "id": "d1", "title": "Doc", "url": None, "source_type": "web"}
    body = {
        "conversation_id": "conv-1",
        "content": "Answer.",
        "sources": [{**source, "score": 0.5}],
    }
    client = rig("sentientone", json_reply(body, **{"X-Trace-Id": "trc_1"}))
    response = client.post("/v1/chat", json={"message": "q"})
    assert response.headers["x-trace-id"] == "trc_1"
    (conversation,) = client.rig.fixture().conversations
    (turn,) = conversation.turns
    assert conversation.id == "conv-1" and turn.reply == "Answer."
    assert [(s.id, s.title, s.score, s.source_type) for s in turn.sources] == [
        ("d1", "Doc", 0.5, "web")
    ]
    assert json.loads(response.content) == body


def test_every_form_of_a_secret_and_every_jwt_is_redacted_on_disk(rig: Any) -> None:
    import base64

    from tests.conftest import make_jwt

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    node_jwt = make_jwt(secret="cfg-secret")  # a valid token of a configured node
    other_jwt = make_jwt(secret="nobody-knows-this")  # JWT-shaped, whoever signed it
    leaks = [
        node_jwt,
        other_jwt,
        "CFG-SECRET",  # a configured secret, upper-cased
        "SK-CALLER",  # the caller's own key, upper-cased
        b64("cfg-secret"),
        b64("sk-caller"),
        b64("user:cfg-secret"),  # a Basic credential carrying it
    ]
    reply = "Seen: " + " | ".join(leaks[1:])
    client = rig("interlocute", json_reply({"content": reply, "threadId": "thr_1"}))
    response = client.post(
        "/chat",
        json={"content": f"my token is {node_jwt}, ok?"},
        headers={"Authorization": "Bearer sk-caller"},
    )
    assert response.json()["content"] == reply  # the caller gets the reply as it was
    on_disk = (client.rig.directory / "rec.yaml").read_text()
    for leak in leaks:
        assert leak not in on_disk, leak
    assert "cfg-secret" not in on_disk.lower() and "sk-caller" not in on_disk.lower()
    (turn,) = client.rig.fixture().conversations[0].turns
    assert turn.message == f"my token is {REDACTED}, ok?"
    assert turn.reply == "Seen: " + " | ".join([REDACTED] * (len(leaks) - 1))


def test_a_fixture_symlinked_out_of_the_directory_is_not_read_or_written(
    rig: Any, tmp_path: Path, caplog: Any
) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("conversations: [{turns: [{message: a, reply: private}]}]\n")
    client = rig("interlocute", json_reply({"content": "hi", "threadId": "thr_1"}))
    client.rig.directory.mkdir()
    (client.rig.directory / "rec.yaml").symlink_to(outside)
    with caplog.at_level(logging.WARNING, logger="emulator"):
        assert client.post("/chat", json={"content": "hello"}).json()["content"] == "hi"
    assert "outside the fixtures directory" in caplog.text
    assert "private" in outside.read_text() and "hello" not in outside.read_text()
    assert (client.rig.directory / "rec.yaml").is_symlink()
