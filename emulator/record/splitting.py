"""Incremental splitting of response bodies into SSE events, lines and text, fed as bytes
arrive: a frame may be cut anywhere between two chunks, even inside a UTF-8 character or
between the CR and LF of a line end."""

from __future__ import annotations

import codecs

import msgspec


class TextDecoder:
    """UTF-8 bytes to text, holding back a character cut between chunks."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk: bytes) -> str:
        return self._decoder.decode(chunk)

    def close(self) -> str:
        return self._decoder.decode(b"", final=True)


class LineSplitter:
    """Complete lines, without their ending (LF, CRLF or, with `bare_cr`, a lone CR)."""

    def __init__(self, *, bare_cr: bool = False) -> None:
        self._text = TextDecoder()
        self._pending = ""
        self._bare_cr = bare_cr

    def feed(self, chunk: bytes) -> list[str]:
        return self._split(self._pending + self._text.feed(chunk), final=False)

    def close(self) -> list[str]:
        """The lines still held, the last one unterminated."""
        return self._split(self._pending + self._text.close(), final=True)

    def _split(self, text: str, *, final: bool) -> list[str]:
        lines: list[str] = []
        start = index = 0
        while index < len(text):
            char = text[index]
            if char == "\r" and index + 1 == len(text) and not final:
                break  # an LF may open the next chunk: decide then
            if char == "\r" and text[index + 1 : index + 2] == "\n":
                lines.append(text[start:index])
                index += 1
                start = index + 1
            elif char == "\n" or (char == "\r" and self._bare_cr):
                lines.append(text[start:index])
                start = index + 1
            index += 1
        rest = text[start:]
        if final:
            rest = rest.removesuffix("\r")
            lines.extend([rest] if rest else [])
            rest = ""
        self._pending = rest
        return lines


class SseEvent(msgspec.Struct, frozen=True):
    data: str
    event: str = "message"
    id: str | None = None


class SseSplitter:
    """Server-Sent Events as the HTML standard parses them: `data:` lines join with a newline,
    a blank line dispatches, comments (`:`) and unknown fields are skipped, an event with no
    data is not dispatched, and an unterminated event at the end of the body is dropped."""

    def __init__(self) -> None:
        self._lines = LineSplitter(bare_cr=True)
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._first = True

    def feed(self, chunk: bytes) -> list[SseEvent]:
        return self._parse(self._lines.feed(chunk))

    def close(self) -> list[SseEvent]:
        return self._parse(self._lines.close())

    def _parse(self, lines: list[str]) -> list[SseEvent]:
        events: list[SseEvent] = []
        for line in lines:
            if self._first:
                line = line.removeprefix("\ufeff")
                self._first = False
            if not line:
                events.extend(self._dispatch())
                continue
            name, colon, value = line.partition(":")
            if not name:
                continue  # a comment
            value = value.removeprefix(" ") if colon else ""
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id" and "\0" not in value:
                self._id = value
        return events

    def _dispatch(self) -> list[SseEvent]:
        data, event = self._data, self._event or "message"
        self._data, self._event = [], ""
        return [SseEvent("\n".join(data), event, self._id)] if data else []
