"""Stream framing as value objects: each frame knows its bytes; responses just send them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from emulator.apis.stopping import STOP_MESSAGE, Streams, streams
from emulator.core.errors import EmulatorError, ServerStopping
from emulator.core.events import Event

COMPACT = (",", ":")


def dumps(value: Any, *, separators: tuple[str, str] = COMPACT) -> str:
    return json.dumps(value, ensure_ascii=False, separators=separators)


@dataclass(frozen=True, slots=True)
class SseFrame:
    """One Server-Sent Event. `data` may span lines; each becomes its own `data:` line."""

    data: str
    event: str | None = None
    id: str | None = None

    def encode(self) -> bytes:
        lines = []
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        lines.extend(f"data: {line}" for line in self.data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()


@dataclass(frozen=True, slots=True)
class NdjsonFrame:
    """One newline-delimited JSON object."""

    value: dict[str, Any]

    def encode(self) -> bytes:
        return (dumps(self.value) + "\n").encode()


@dataclass(frozen=True, slots=True)
class TextFrame:
    text: str

    def encode(self) -> bytes:
        return self.text.encode()


Frame = SseFrame | NdjsonFrame | TextFrame

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def encode_stream(
    events: AsyncIterator[Event],
    encode: Callable[[Event], Frame | None],
    failed: Callable[[EmulatorError], Frame],
) -> AsyncIterator[bytes]:
    """Each core event as its API's frame bytes, one chunk per frame so each flushes on its own;
    a core error raised mid-stream becomes the API's error frame and ends the stream. So does
    the server stopping (see `emulator.apis.stopping`): the client gets a clean end."""
    state = streams()
    try:
        while not state.stopping:
            event = await _next_event(events, state)
            if event is None:
                return
            frame = encode(event)
            if frame is not None:
                yield frame.encode()
        raise ServerStopping(STOP_MESSAGE)
    except EmulatorError as exc:
        yield failed(exc).encode()


async def _next_event(events: AsyncIterator[Event], state: Streams) -> Event | None:
    """The next event (None at the end), or ServerStopping when the server stops meanwhile."""
    task = asyncio.current_task()
    assert task is not None
    state.waiting.add(task)
    try:
        return await anext(events)
    except StopAsyncIteration:
        return None
    except asyncio.CancelledError as exc:
        if not state.stopped_us(exc):
            raise  # a client hang-up, or uvicorn giving up: not ours to swallow
        task.uncancel()
        raise ServerStopping(STOP_MESSAGE) from None
    finally:
        state.waiting.discard(task)
