"""The replay model through HTTP, in every API: recorded frames, timing, sources, misses."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from emulator.config.fixtures import parse_fixture
from tests.apis.golden import sse_data
from tests.apis.realism import APIS, Api, node_config
from tests.conftest import FakeClock, make_app

FIXTURE = """\
version: 1
conversations:
  - id: conv-hours
    turns:
      - message: What are your hours?
        reply:
          - {ms: 200, text: We}
          - {ms: 250, text: " are"}
          - {ms: 250, text: " open"}
          - {ms: 400, text: " 9 to 5."}
        sources:
          - id: doc-hours
            title: Opening hours
            url: https://example.com/h
            source_type: web
            score: 0.75
            snippet: Open 9 to 5.
      - message: Thanks
        reply: You are welcome.
  - id: conv-hello
    turns:
      - message: Hello
        reply: Hi there!
      - message: Thanks
        reply: Bye now.
"""

# Each API's first error line for a replay miss (a 500), as its own 500 looks.
MISS_BODIES: dict[str, Any] = {
    "interlocute": {"error": {"code": "replay_miss", "message": "{miss}"}},
    "agent-slug": {
        "data": None,
        "error": {"name": "InternalServerError", "message": "Internal server error", "details": {}},
    },
    "sentientone": {"error": {"code": "replay_miss", "message": "{miss}"}},
    "widget": {"error": "Internal server error"},
}
MISS = (
    "No recorded turn in fixture 'demo' matches 'What are your hourz?'; "
    "the nearest recorded message is 'What are your hours?'"
)


class RecordingClock(FakeClock):
    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))


@contextmanager
def replay(
    api: str,
    tmp_path: Path,
    model: str = "{kind: replay, fixture: demo}",
    *,
    fixture: str = FIXTURE,
    clock: FakeClock | None = None,
) -> Iterator[TestClient[Litestar]]:
    (tmp_path / "demo.yaml").write_text(fixture)
    config = node_config(api, "").replace("model: echo", f"model: {model}")
    app = make_app(config, clock=clock, fixtures=tmp_path)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client


def streamed(api: Api, client: TestClient[Any], message: str, **extra: Any) -> Any:
    return client.post(api.stream_path, json={**api.body(message), **extra}, headers=api.headers())


def conversation_of(api: str, response: Any) -> dict[str, str]:
    """The body fields that continue the conversation a streamed response started."""
    if api == "interlocute":
        start = response.text.split("\n\n")[0]  # event: start, then its data line
        return {"threadId": json.loads(start.split("data: ", 1)[1])["threadId"]}
    if api == "agent-slug":
        return {"conversationId": response.headers["x-conversation-id"]}
    if api == "sentientone":
        return {"conversation_id": _json_frames(response.text)[0]["conversation_id"]}
    return {}  # widget: the same sessionId continues it


def _json_frames(text: str) -> list[Any]:
    return [json.loads(raw) for raw in sse_data(text) if raw != "[DONE]"]


@pytest.mark.parametrize("api", APIS)
def test_a_stream_replays_the_recorded_frames_one_by_one(api: str, tmp_path: Path) -> None:
    with replay(api, tmp_path) as client:
        response = streamed(APIS[api], client, "what are  your HOURS?")
        assert response.status_code == 200
        tokens, tail = APIS[api].frames(response.text)
        assert tokens == ["We", " are", " open", " 9 to 5."]
        assert tail and "error" not in tail[-1]


@pytest.mark.parametrize("api", [name for name, a in APIS.items() if a.chat_path])
def test_a_non_streaming_answer_is_the_joined_reply(api: str, tmp_path: Path) -> None:
    with replay(api, tmp_path) as client:
        response = APIS[api].chat(client, "Hello")
        assert response.status_code == 200
        body = response.json()
        content = body["data"]["response"] if api == "agent-slug" else body["content"]
        assert content == "Hi there!"


@pytest.mark.parametrize("api", APIS)
def test_a_conversation_follows_the_recorded_one(api: str, tmp_path: Path) -> None:
    """Both recorded conversations have a "Thanks" turn: the thread that began with "Hello"
    gets that conversation's answer, a fresh one the first in the file."""
    a = APIS[api]
    with replay(api, tmp_path) as client:
        first = streamed(a, client, "Hello")
        follow = streamed(a, client, "Thanks", **conversation_of(api, first))
        assert "".join(a.frames(follow.text)[0]) == "Bye now."
        other = {"sessionId": "s2"} if api == "widget" else {}
        fresh = streamed(a, client, "Thanks", **other)
        assert "".join(a.frames(fresh.text)[0]) == "You are welcome."


@pytest.mark.parametrize("api", APIS)
def test_a_miss_is_the_apis_500_naming_the_nearest_message(api: str, tmp_path: Path) -> None:
    with replay(api, tmp_path) as client:
        response = streamed(APIS[api], client, "What are your hourz?")
        assert response.status_code == 500
        expected = MISS_BODIES[api]
        body = response.json()
        if api in ("interlocute", "sentientone"):
            expected = {**expected, "error": {"code": "replay_miss", "message": MISS}}
            body.pop("trace_id", None)
        assert body == expected
        assert response.headers["x-emulator-error"] == MISS
        assert client.get("/_emulator/threads").json()["threads"] == []


@pytest.mark.parametrize(
    ("fallback", "reply"),
    [
        ("echo", "What are your hourz?"),
        ('"Not recorded: {message}"', "Not recorded: What are your hourz?"),
    ],
)
def test_a_fallback_answers_a_miss_instead(fallback: str, reply: str, tmp_path: Path) -> None:
    model = f"{{kind: replay, fixture: demo, fallback: {fallback}}}"
    with replay("interlocute", tmp_path, model) as client:
        response = APIS["interlocute"].chat(client, "What are your hourz?")
        assert response.status_code == 200
        assert response.json()["content"] == reply


@pytest.mark.parametrize(("speed", "scale"), [(1, 1.0), (2, 0.5), (0.5, 2.0)])
def test_the_recorded_timing_is_replayed_scaled_by_speed(
    speed: float, scale: float, tmp_path: Path
) -> None:
    clock = RecordingClock()
    model = f"{{kind: replay, fixture: demo, speed: {speed}}}"
    with replay("widget", tmp_path, model, clock=clock) as client:
        assert streamed(APIS["widget"], client, "What are your hours?").status_code == 200
    # waits before each frame: 200 ms to the first, then the gaps (none before " open")
    assert clock.slept == [round(s * scale, 6) for s in (0.2, 0.05, 0.15)]


def test_recorded_sources_are_sent_by_sentientone(tmp_path: Path) -> None:
    with replay("sentientone", tmp_path) as client:
        response = streamed(APIS["sentientone"], client, "What are your hours?")
        frames = _json_frames(response.text)
        assert [f["type"] for f in frames[:2]] == ["meta", "sources"]
        assert frames[1]["sources"] == [
            {
                "index": 0,
                "id": "doc-hours",
                "title": "Opening hours",
                "url": "https://example.com/h",
                "source_type": "web",
                "score": 0.75,
                "snippet": "Open 9 to 5.",
            }
        ]
        hello = _json_frames(streamed(APIS["sentientone"], client, "Hello").text)
        assert "sources" not in [f["type"] for f in hello]


def test_an_edited_fixture_is_used_by_the_next_request(tmp_path: Path) -> None:
    with replay("interlocute", tmp_path) as client:
        assert APIS["interlocute"].chat(client, "Hello").json()["content"] == "Hi there!"
        path = tmp_path / "demo.yaml"
        path.write_text(FIXTURE.replace("Hi there!", "Hello again!"))
        os.utime(path, ns=(1, 1))  # a new stamp even where mtimes are coarse
        assert APIS["interlocute"].chat(client, "Hello").json()["content"] == "Hello again!"


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (None, "fixture 'demo' not found: {dir}/demo.yaml does not exist"),
        (
            "conversations: [{turns: [{message: hi}]}]",
            "fixture 'demo' cannot be used: {dir}/demo.yaml:1:26: a turn is missing `reply:`",
        ),
    ],
)
def test_a_missing_or_broken_fixture_is_a_clear_500(
    fixture: str | None, message: str, tmp_path: Path
) -> None:
    with replay("interlocute", tmp_path, fixture=fixture or "") as client:
        if fixture is None:
            (tmp_path / "demo.yaml").unlink()
        response = APIS["interlocute"].chat(client, "Hello")
        assert response.status_code == 500
        expected = message.format(dir=tmp_path)
        assert response.json() == {"error": {"code": "model_error", "message": expected}}
        assert response.headers["x-emulator-error"] == expected


def test_faults_apply_to_replayed_replies(tmp_path: Path) -> None:
    config_model = "{kind: replay, fixture: demo}\n    faults: [{stream_error_after: 2}]"
    with replay("widget", tmp_path, config_model) as client:
        response = streamed(APIS["widget"], client, "What are your hours?")
        tokens, tail = APIS["widget"].frames(response.text)
        assert tokens == ["We", " are"]
        assert tail == ['{"type":"error","error":"Internal server error"}']


def test_a_thread_exported_as_a_fixture_replays_the_same_conversation(tmp_path: Path) -> None:
    scripted = (
        "{kind: scripted, rules: [{when: {contains: hours}, reply: 'Open 9 to 5.'}], "
        "fallback: 'You said: {message}'}"
    )
    live = make_app(node_config("interlocute", "").replace("model: echo", f"model: {scripted}"))
    messages = ["What are your hours?", "And on Sunday?", "Thanks!"]
    with TestClient(live, base_url="http://127.0.0.1:8080") as client:
        replies, thread = [], None
        for message in messages:
            body = {"content": message, **({"threadId": thread} if thread else {})}
            answer = client.post("/nodes/n/chat", json=body, headers={"Authorization": "Bearer k"})
            replies.append(answer.json()["content"])
            thread = answer.json()["threadId"]
        exported = client.get(f"/_emulator/threads/{thread}/fixture")
        assert exported.status_code == 200
        assert exported.headers["content-type"] == "application/yaml; charset=utf-8"
        fixture = parse_fixture(exported.text)
        assert [t.message for t in fixture.conversations[0].turns] == messages
        assert client.get("/_emulator/threads/thr_nope/fixture").status_code == 404
    fixture_text = exported.text
    with replay("interlocute", tmp_path, fixture=fixture_text) as client:
        again, thread = [], None
        for message in messages:
            body = {"content": message, **({"threadId": thread} if thread else {})}
            answer = client.post("/nodes/n/chat", json=body, headers={"Authorization": "Bearer k"})
            again.append(answer.json()["content"])
            thread = answer.json()["threadId"]
    assert again == replies == ["Open 9 to 5.", "You said: And on Sunday?", "You said: Thanks!"]
