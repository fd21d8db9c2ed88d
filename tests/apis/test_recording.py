"""Each API's `recording.py` reads that API's own replies, as the emulator sends them, fed in
chunks of any size: the joined frames are the reply, the conversation id is the one sent, and
an error event or a missing end makes the reply unrecordable."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from emulator.apis.base import MALFORMED
from emulator.apis.registry import TRANSCRIBERS
from emulator.record.transcript import ChatCall, Ending

CONFIG = """
version: 1
nodes:
  support:
    api: interlocute
    model: {kind: echo, template: "Hello, {message}! It's ünïcode."}
    auth: {api_keys: [k-il]}
    faults:
      - {when: {contains: broken}, stream_error_after: 2}
      - {when: {contains: cut}, disconnect_after: 2}
  helpdesk:
    api: agent-slug
    model: {kind: echo, template: "Hello, {message}! It's ünïcode."}
    auth: {api_keys: [k-slug]}
    faults:
      - {when: {contains: broken}, stream_error_after: 2}
      - {when: {contains: cut}, disconnect_after: 2}
  researcher:
    api: sentientone
    model:
      rules: [{when: {any: true}, reply: "Hello, {message}! It's ünïcode.", sources: [doc-1]}]
    auth: {api_keys: [k-sent]}
    knowledge:
      - {id: doc-1, title: Doc one, url: "https://example.com/1", source_type: web, text: Text.}
    faults:
      - {when: {contains: broken}, stream_error_after: 2}
      - {when: {contains: cut}, disconnect_after: 2}
  widget:
    api: widget
    model: {kind: echo, template: "Hello, {message}! It's ünïcode."}
    auth: {api_keys: [k-widget]}
    faults:
      - {when: {contains: broken}, stream_error_after: 2}
      - {when: {contains: cut}, disconnect_after: 2}
"""

# api, path, headers, body (with MESSAGE), where the reply's conversation id is
Case = tuple[str, str, dict[str, str], dict[str, Any], Callable[[Any], str]]


def _sse_first(field: str) -> Callable[[Any], str]:
    return lambda r: str(json.loads(r.text.split("data: ", 1)[1].split("\n")[0])[field])


CASES: dict[str, Case] = {
    "interlocute-json": (
        "interlocute",
        "/chat",
        {"Authorization": "Bearer k-il"},
        {"content": "MESSAGE"},
        lambda r: r.json()["threadId"],
    ),
    "interlocute-sse": (
        "interlocute",
        "/chat/stream",
        {"Authorization": "Bearer k-il"},
        {"content": "MESSAGE"},
        _sse_first("threadId"),
    ),
    "interlocute-ndjson": (
        "interlocute",
        "/chat/stream",
        {"Authorization": "Bearer k-il", "Accept": "application/x-ndjson"},
        {"content": "MESSAGE"},
        lambda r: json.loads(r.text.splitlines()[0])["threadId"],
    ),
    "agent-slug-json": (
        "agent-slug",
        "/v1/api/chat/helpdesk",
        {"Authorization": "Bearer k-slug"},
        {"message": "MESSAGE"},
        lambda r: r.json()["data"]["conversationId"],
    ),
    "agent-slug-sse": (
        "agent-slug",
        "/v1/api/chat/helpdesk",
        {"Authorization": "Bearer k-slug"},
        {"message": "MESSAGE", "stream": True},
        lambda r: r.headers["x-conversation-id"],
    ),
    "sentientone-sse": (
        "sentientone",
        "/v1/chat/stream",
        {"X-Api-Key": "k-sent"},
        {"message": "MESSAGE"},
        _sse_first("conversation_id"),
    ),
    "sentientone-json": (
        "sentientone",
        "/v1/chat",
        {"X-Api-Key": "k-sent"},
        {"message": "MESSAGE"},
        lambda r: r.json()["conversation_id"],
    ),
    "widget": (
        "widget",
        "/nodes/widget/chat",
        {"x-api-key": "k-widget"},
        {"sessionId": "s-1", "message": "MESSAGE"},
        lambda r: json.loads(r.text.splitlines()[0])["conversationId"],
    ),
}
STREAMS = [name for name in CASES if not name.endswith("-json")]


@pytest.fixture
def client(make_client: Callable[..., TestClient[Any]]) -> TestClient[Any]:
    return make_client(CONFIG)


def read(
    client: TestClient[Any], case: Case, message: str, size: int
) -> tuple[Any, Ending, list[str]]:
    api, path, headers, template, _ = case
    body = {k: (message if v == "MESSAGE" else v) for k, v in template.items()}
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    transcriber = TRANSCRIBERS[api]
    assert transcriber.is_chat("POST", path)
    call = transcriber.chat_call({k.lower(): v for k, v in headers.items()}, body)
    assert call == ChatCall(message)
    reader = transcriber.reader(call, {k.lower(): v for k, v in response.headers.items()})
    data = response.content
    texts = [t for i in range(0, len(data), size) for t in reader.feed(data[i : i + size])]
    ending = reader.close()
    return response, ending, texts + list(ending.texts)


@pytest.mark.parametrize("size", [1, 5, 100_000])
@pytest.mark.parametrize("name", CASES)
def test_a_whole_reply_reads_as_its_frames(client: TestClient[Any], name: str, size: int) -> None:
    case = CASES[name]
    response, ending, texts = read(client, case, "wörld", size)
    assert ending.problem is None
    assert "".join(texts) == "Hello, wörld! It's ünïcode."
    assert len(texts) == (1 if name.endswith("-json") else 9)  # one frame per token event
    assert ending.transcript.conversation_id == case[4](response)
    if case[0] == "sentientone":
        (source,) = ending.transcript.sources
        assert (source.id, source.title, source.url) == (
            "doc-1",
            "Doc one",
            "https://example.com/1",
        )


@pytest.mark.parametrize("name", STREAMS)
def test_an_error_event_makes_the_reply_unrecordable(client: TestClient[Any], name: str) -> None:
    _, ending, texts = read(client, CASES[name], "broken", 3)
    assert ending.problem is not None and ending.problem.startswith("an error event (")
    assert len(texts) == 2


@pytest.mark.parametrize("name", STREAMS)
def test_a_stream_without_its_end_is_unrecordable(client: TestClient[Any], name: str) -> None:
    _, ending, _ = read(client, CASES[name], "cut", 3)
    assert ending.problem == "the reply ended before its end event"


def test_interlocute_plain_text_is_one_frame_per_chunk(client: TestClient[Any]) -> None:
    headers = {"Authorization": "Bearer k-il", "Accept": "text/plain"}
    response = client.post("/chat/stream", json={"content": "x", "threadId": None}, headers=headers)
    transcriber = TRANSCRIBERS["interlocute"]
    reader = transcriber.reader(ChatCall("x", "thr_given"), {"content-type": "text/plain"})
    texts = [t for byte in response.content for t in reader.feed(bytes([byte]))]
    ending = reader.close()
    assert ending.problem is None and ending.transcript.conversation_id == "thr_given"
    assert "".join(texts) == "Hello, x! It's ünïcode."  # ü and ï held until whole


@pytest.mark.parametrize("api", TRANSCRIBERS)
def test_what_is_not_a_chat_call(api: str) -> None:
    transcriber = TRANSCRIBERS[api]
    assert not transcriber.is_chat("GET", "/chit")
    assert not transcriber.is_chat("GET", "/v1/chat/stream")
    assert transcriber.chat_call({}, MALFORMED) is None
    assert transcriber.chat_call({}, {"nothing": "here"}) is None
    assert transcriber.chat_call({}, ["a", "list"]) is None


def test_chat_paths_may_sit_under_a_base_path() -> None:
    assert TRANSCRIBERS["interlocute"].is_chat("POST", "/nodes/support/chat/stream")
    assert TRANSCRIBERS["agent-slug"].is_chat("POST", "/api/v1/api/chat/my-agent")
    assert TRANSCRIBERS["sentientone"].is_chat("POST", "/v1/chat")
    assert TRANSCRIBERS["widget"].is_chat("POST", "/chat")
    assert not TRANSCRIBERS["agent-slug"].is_chat("POST", "/v1/api/chat/")
