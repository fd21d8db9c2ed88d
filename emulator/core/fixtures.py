"""Recorded conversations ("fixtures"): what `emulator record` writes and the replay model reads.

A fixture is a list of conversations, each an ordered list of turns; a turn is the user's
message and the reply as the frames a client received, each with the milliseconds since the
request was sent. Plain values only: the YAML file format lives in `emulator.config.fixtures`.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import accumulate
from typing import Any

import msgspec
from msgspec.structs import replace

from emulator.core.redaction import Redactor

FIXTURE_VERSION = 1
REDACTED = "[REDACTED]"


class Frame(msgspec.Struct, frozen=True):
    text: str
    ms: int  # milliseconds from the request to this frame's arrival


class RecordedSource(msgspec.Struct, frozen=True):
    id: str
    title: str
    url: str | None = None
    source_type: str = "document"
    score: float = 1.0
    snippet: str = ""


class FixtureTurn(msgspec.Struct, frozen=True):
    message: str
    frames: tuple[Frame, ...]
    sources: tuple[RecordedSource, ...] = ()

    @property
    def reply(self) -> str:
        return "".join(frame.text for frame in self.frames)


class Conversation(msgspec.Struct, frozen=True):
    turns: tuple[FixtureTurn, ...]
    id: str | None = None  # the upstream's conversation id, for people reading the file


class Fixture(msgspec.Struct, frozen=True):
    conversations: tuple[Conversation, ...] = ()
    api: str | None = None  # the API it was recorded from
    upstream: str | None = None  # where it was recorded from (no credentials)

    def with_turn(self, conversation_id: str | None, turn: FixtureTurn) -> Fixture:
        """This fixture with `turn` appended to the conversation of that id (a new one when
        the id is unknown or None)."""
        conversations = list(self.conversations)
        for index, conversation in enumerate(conversations):
            if conversation_id is not None and conversation.id == conversation_id:
                conversations[index] = replace(conversation, turns=(*conversation.turns, turn))
                break
        else:
            conversations.append(Conversation((turn,), conversation_id))
        return replace(self, conversations=tuple(conversations))


def to_data(fixture: Fixture) -> dict[str, Any]:
    """The fixture as plain values, in the order the file shows them."""
    data: dict[str, Any] = {"version": FIXTURE_VERSION}
    if fixture.api is not None:
        data["api"] = fixture.api
    if fixture.upstream is not None:
        data["upstream"] = fixture.upstream
    data["conversations"] = [_conversation_data(c) for c in fixture.conversations]
    return data


def _conversation_data(conversation: Conversation) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if conversation.id is not None:
        data["id"] = conversation.id
    data["turns"] = [_turn_data(turn) for turn in conversation.turns]
    return data


def _turn_data(turn: FixtureTurn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message": turn.message,
        "reply": [{"ms": frame.ms, "text": frame.text} for frame in turn.frames],
    }
    if turn.sources:
        data["sources"] = [_source_data(source) for source in turn.sources]
    return data


def _source_data(source: RecordedSource) -> dict[str, Any]:
    return {
        "id": source.id,
        "title": source.title,
        "url": source.url,
        "source_type": source.source_type,
        "score": source.score,
        "snippet": source.snippet,
    }


def redact(turn: FixtureTurn, secrets: Iterable[str]) -> FixtureTurn:
    """The turn with every secret replaced by [REDACTED], in the message, the frames and the
    sources: each secret in any case and in base64, and every JWT-shaped token (see
    redaction.py). A secret split across frames is caught too: those frames become one (at the
    time of the last of them); the others keep their own text and time."""
    redactor = Redactor(secrets)
    frames = _join_split_secrets(turn.frames, redactor)
    frames = tuple(replace(f, text=redactor.hide(f.text, REDACTED)) for f in frames)
    hidden = FixtureTurn(
        redactor.hide(turn.message, REDACTED),
        frames,
        tuple(_redact_source(source, redactor) for source in turn.sources),
    )
    return turn if hidden == turn else hidden


def _join_split_secrets(frames: tuple[Frame, ...], redactor: Redactor) -> tuple[Frame, ...]:
    """The frames with every boundary that cuts through a secret removed."""
    ends = list(accumulate(len(frame.text) for frame in frames))[:-1]
    joined = "".join(frame.text for frame in frames)
    glued: set[int] = set()  # i: frame i and frame i + 1 become one
    for start, end in redactor.spans(joined):
        glued.update(i for i, cut in enumerate(ends) if start < cut < end)
    merged: list[Frame] = []
    text = ""
    for index, frame in enumerate(frames):
        text += frame.text
        if index not in glued:
            merged.append(Frame(text, frame.ms))
            text = ""
    return tuple(merged)


def _redact_source(source: RecordedSource, redactor: Redactor) -> RecordedSource:
    return replace(
        source,
        title=redactor.hide(source.title, REDACTED),
        url=None if source.url is None else redactor.hide(source.url, REDACTED),
        snippet=redactor.hide(source.snippet, REDACTED),
    )
