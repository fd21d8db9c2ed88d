"""What the recorder needs to know about an API, and the readers that turn a reply into frames.

Each API package provides a `Transcriber` in its `recording.py`: it says which requests are
chat calls (and reads their message and conversation id), and gives a `ReplyReader` for the
response. A reader is fed the body as it arrives and returns the reply's text pieces as they
complete; the proxy stamps each with its arrival time. The readers here are generic (a JSON
body, SSE events, NDJSON lines, plain text); an API passes a small function that reads one of
its events into the `Transcript`.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from emulator.core.fixtures import RecordedSource
from emulator.record.splitting import LineSplitter, SseEvent, SseSplitter, TextDecoder

Headers = Mapping[str, str]  # lower-case names


class ChatCall(msgspec.Struct, frozen=True):
    """A request that is one turn of a conversation."""

    message: str
    conversation_id: str | None = None  # the conversation the request continues, if it says


class Transcript(msgspec.Struct):
    """What a reader has learned about the reply so far."""

    conversation_id: str | None = None
    sources: tuple[RecordedSource, ...] = ()
    complete: bool = False  # the reply's end arrived (a `done` event, a whole JSON body)
    failure: str | None = None  # why the reply is not whole (an error event), if it is not


class Ending(msgspec.Struct, frozen=True):
    """The reader's verdict once the body has ended."""

    texts: tuple[str, ...]  # frames known only at the end (a JSON body is one)
    transcript: Transcript

    @property
    def problem(self) -> str | None:
        """Why the reply must not be recorded, or None."""
        if self.transcript.failure is not None:
            return self.transcript.failure
        return None if self.transcript.complete else "the reply ended before its end event"


class ReplyReader(ABC):
    """Reads one response body, fed chunk by chunk as it arrives."""

    def __init__(self, call: ChatCall) -> None:
        self.transcript = Transcript(conversation_id=call.conversation_id)

    @abstractmethod
    def feed(self, chunk: bytes) -> list[str]:
        """The reply text of every frame this chunk completed, in order."""

    def close(self) -> Ending:
        """The body ended normally."""
        return Ending((), self.transcript)


class Transcriber(Protocol):
    """One API's knowledge of its chat calls, for `emulator record`."""

    @property
    def api(self) -> str:
        """The API's name, as in nodes.yaml."""
        ...

    def is_chat(self, method: str, path: str) -> bool:
        """Whether requests to this path are chat calls (`path` as the client sent it, after
        any base path)."""
        ...

    def chat_call(self, headers: Headers, body: Any) -> ChatCall | None:
        """The turn a chat call's body asks for (`body` is parsed JSON, or `MALFORMED`), or None
        when the body cannot be read as one: the upstream decides what to answer."""
        ...

    def reader(self, call: ChatCall, headers: Headers) -> ReplyReader:
        """A reader for the 2xx response to `call`, chosen by the response's headers."""
        ...


class ChatRoutes:
    """What most APIs' transcribers share: a chat call is a POST to a path matching `chat`,
    whose JSON body holds the message under `message_field` and, to continue a conversation,
    its id under `conversation_field`. Subclasses set those and write `reader`."""

    api: str
    chat: re.Pattern[str]
    message_field = "message"
    conversation_field: str | None = None

    def is_chat(self, method: str, path: str) -> bool:
        return method == "POST" and self.chat.fullmatch(path) is not None

    def chat_call(self, headers: Headers, body: Any) -> ChatCall | None:
        message = text_field(body, self.message_field)
        if message is None:
            return None
        field = self.conversation_field
        return ChatCall(message, (text_field(body, field) if field else None) or None)


# -- generic readers ------------------------------------------------------------------------

Handle = Callable[[Any, Transcript], str | None]  # one event in, its reply text (if any) out


class JsonReply(ReplyReader):
    """A whole JSON body: one frame, when the body ends."""

    def __init__(self, call: ChatCall, handle: Handle) -> None:
        super().__init__(call)
        self._handle = handle
        self._chunks: list[bytes] = []

    def feed(self, chunk: bytes) -> list[str]:
        self._chunks.append(chunk)
        return []

    def close(self) -> Ending:
        value = _json(b"".join(self._chunks))
        text = None if value is None else self._handle(value, self.transcript)
        if text is None:
            self.transcript.failure = self.transcript.failure or "the reply is not the API's JSON"
            return Ending((), self.transcript)
        self.transcript.complete = True
        return Ending((text,), self.transcript)


class SseReply(ReplyReader):
    """Server-Sent Events; `handle` gets each `SseEvent`."""

    def __init__(self, call: ChatCall, handle: Handle) -> None:
        super().__init__(call)
        self._handle = handle
        self._events = SseSplitter()

    def feed(self, chunk: bytes) -> list[str]:
        return self._read(self._events.feed(chunk))

    def close(self) -> Ending:
        self._read(self._events.close())
        return Ending((), self.transcript)

    def _read(self, events: Sequence[SseEvent]) -> list[str]:
        texts = (self._handle(event, self.transcript) for event in events)
        return [text for text in texts if text is not None]


class NdjsonReply(ReplyReader):
    """Newline-delimited JSON; `handle` gets each line's value."""

    def __init__(self, call: ChatCall, handle: Handle) -> None:
        super().__init__(call)
        self._handle = handle
        self._lines = LineSplitter()

    def feed(self, chunk: bytes) -> list[str]:
        return self._read(self._lines.feed(chunk))

    def close(self) -> Ending:
        texts = self._read(self._lines.close())
        return Ending(tuple(texts), self.transcript)

    def _read(self, lines: Sequence[str]) -> list[str]:
        texts: list[str] = []
        for line in lines:
            if not line.strip():
                continue
            value = _json(line.encode())
            if value is None:
                self.transcript.failure = f"an NDJSON line is not JSON: {line[:60]!r}"
                continue
            text = self._handle(value, self.transcript)
            if text is not None:
                texts.append(text)
        return texts


class TextReply(ReplyReader):
    """Plain text: every chunk is a frame, and a body that ends normally is a whole reply (plain
    text has no end event, so a stream cut short by the upstream cannot be told apart)."""

    def __init__(self, call: ChatCall) -> None:
        super().__init__(call)
        self._text = TextDecoder()

    def feed(self, chunk: bytes) -> list[str]:
        text = self._text.feed(chunk)
        return [text] if text else []

    def close(self) -> Ending:
        self.transcript.complete = True
        rest = self._text.close()
        return Ending((rest,) if rest else (), self.transcript)


# -- helpers for the API packages -----------------------------------------------------------


def media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def text_field(body: Any, name: str) -> str | None:
    """`body[name]` when body is an object and that is a string; else None."""
    if isinstance(body, dict):
        value = body.get(name)
        return value if isinstance(value, str) else None
    return None


def json_data(event: SseEvent) -> Any:
    """The event's data as JSON, or None."""
    return _json(event.data.encode())


def failure_text(error: Any) -> str:
    """An error event's content, for the log line saying why nothing was recorded."""
    if isinstance(error, dict):
        parts = [str(error[k]) for k in ("code", "name", "message") if error.get(k)]
        if parts:
            return ": ".join(parts)
    return str(error)[:120]


def source(value: Any) -> RecordedSource | None:
    """A source object as the APIs send it (`id`, `title`, `url`, `source_type`, `score`,
    `snippet`), leniently: a missing title is the id."""
    if not isinstance(value, dict) or value.get("id") is None:
        return None
    score = value.get("score")
    url = value.get("url")
    return RecordedSource(
        id=str(value["id"]),
        title=str(value.get("title") or value["id"]),
        url=url if isinstance(url, str) else None,
        source_type=str(value.get("source_type") or "document"),
        score=float(score) if isinstance(score, int | float) else 1.0,
        snippet=str(value.get("snippet") or ""),
    )


def sources(values: Any) -> tuple[RecordedSource, ...]:
    if not isinstance(values, list):
        return ()
    found = (source(value) for value in values)
    return tuple(s for s in found if s is not None)


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


__all__ = [
    "ChatCall",
    "Ending",
    "Headers",
    "JsonReply",
    "NdjsonReply",
    "ReplyReader",
    "SseEvent",
    "SseReply",
    "TextReply",
    "Transcriber",
    "Transcript",
]
