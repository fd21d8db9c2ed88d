"""Stream framing as value objects: each frame knows its bytes; responses just send them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

import msgspec
from litestar import Response
from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Send

from emulator.apis.stopping import STOP_MESSAGE, streams
from emulator.core.errors import EmulatorError, ServerStopping
from emulator.core.events import Event, Paced, Pause, Run

COMPACT = (",", ":")


_encode = msgspec.json.Encoder().encode
json_bytes = _encode  # compact JSON as bytes; strings written exactly as `json.dumps` writes them


def dumps(value: Any, *, separators: tuple[str, str] = COMPACT) -> str:
    """JSON text, non-ASCII as is. Compact output comes from msgspec (every token of every
    stream is encoded here); it writes strings exactly as `json.dumps` does."""
    if separators == COMPACT:
        return _encode(value).decode()
    return json.dumps(value, ensure_ascii=False, separators=separators)


class SseFrame(msgspec.Struct, frozen=True):
    """One Server-Sent Event. `data` may span lines; each becomes its own `data:` line."""

    data: str
    event: str | None = None
    id: str | None = None

    def encode(self) -> bytes:
        if self.id is None and self.event is not None and "\n" not in self.data:
            # Nearly every frame (each token's): one line of data, no id.
            return f"event: {self.event}\ndata: {self.data}\n\n".encode()
        lines = []
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        lines.extend(f"data: {line}" for line in self.data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()


class NdjsonFrame(msgspec.Struct, frozen=True):
    """One newline-delimited JSON object."""

    value: dict[str, Any]

    def encode(self) -> bytes:
        return _encode(self.value) + b"\n"


class TextFrame(msgspec.Struct, frozen=True):
    text: str

    def encode(self) -> bytes:
        return self.text.encode()


Frame = SseFrame | NdjsonFrame | TextFrame


class LastChunk(bytes):
    """A stream's final chunk: `send_chunks` sends it and the body's end in one write."""

    __slots__ = ()


STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


TokenBytes = Callable[[str], bytes]  # a token's frame, exactly as the API's `encode` makes it


async def encode_stream(
    events: AsyncIterator[Paced],
    encode: Callable[[Event], Frame | None],
    failed: Callable[[EmulatorError], Frame],
    token: TokenBytes | None = None,
) -> AsyncIterator[bytes]:
    """Each core event as its API's frame bytes; a core error raised mid-stream becomes the
    API's error frame and ends the stream. So does the server stopping (see
    `emulator.apis.stopping`): the client gets a clean end.

    Frames due at the same moment go out as one chunk: everything up to each `Pause` (so with
    latency, the start frame at once, then each token when it is due, the last one with the
    closing frame). The bytes on the wire are the same either way; a stream without latency
    is one write, the end of the body included (its chunk is a `LastChunk`), not one per
    token. A client sees no difference but fewer packets.

    `token`, if given, makes a token's frame bytes straight from its text (the same bytes as
    `encode`): nearly every event is a token, and a frame object, an event dict and a decode
    less per token is a third of a streamed turn's cost.

    `stopping.next_or_stop` written out: this loop runs once per token, and a coroutine layer
    less per token is a third of its cost."""
    state = streams()
    task = asyncio.current_task()
    assert task is not None  # Litestar iterates a stream in a task
    due: list[bytes] = []
    try:
        while True:
            if state.stopping:
                raise ServerStopping(STOP_MESSAGE)
            state.waiting.add(task)
            try:
                event = await anext(events)
            except StopAsyncIteration:
                break
            except asyncio.CancelledError as exc:
                state.woken(exc)  # ServerStopping, or the cancellation again
            finally:
                state.waiting.discard(task)
            if isinstance(event, Run):
                if token is not None:
                    due.extend(map(token, event.texts))
                else:
                    frames = map(encode, event.tokens())
                    due.extend(frame.encode() for frame in frames if frame is not None)
                continue
            if isinstance(event, Pause):  # what is due goes out before the wait
                if due:
                    yield b"".join(due)
                    due.clear()
                continue
            frame = encode(event)
            if frame is not None:
                due.append(frame.encode())
    except EmulatorError as exc:
        due.append(failed(exc).encode())
    if due:
        yield LastChunk(b"".join(due))


class JsonReply(Response[Any]):
    """A chat turn's JSON reply: Litestar's `Response`, made without its general-purpose
    argument handling (typing-ABC checks of the headers and cookies cost more than the rest of
    it). Litestar answers it like any `Response`; the fast path sends it as plain JSON."""

    def __init__(
        self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.content = content
        self.background = None
        self.cookies = []
        self.encoding = "utf-8"
        self.headers = dict(headers) if headers else {}
        self.media_type = None
        self.status_code = status_code
        self.response_type_encoders = {**(self.type_encoders or {})}


class EventStream(Stream):
    """Litestar's `Stream`, answered without its per-response anyio task group.

    That task group (one task for the body, the request's task waiting for a disconnect) was
    a fifth of a streamed turn's cost. Here the body is sent from the request's own task, and
    a plain asyncio task waits for the client to hang up and cancels it.
    """

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _ListeningResponse  # the same object, only `send_body` differs
        return response


class _ListeningResponse(ASGIStreamingResponse):
    __slots__ = ()

    async def send_body(self, send: Send, receive: Receive) -> None:
        await send_chunks(self.iterator, send, receive, self.encoding)


async def send_chunks(
    chunks: AsyncIterable[str | bytes], send: Send, receive: Receive, encoding: str = "utf-8"
) -> None:
    """A streamed body as Litestar sends it (each chunk with `more_body`, then an empty last
    one, or a `LastChunk` with the end), from the calling task, which a client hanging up
    cancels: a plain asyncio task waits for the disconnect, once the stream has to wait at all
    (one sent whole, as a stream without latency is, needs none)."""
    task = asyncio.current_task()
    assert task is not None
    streaming, hung_up = True, False

    async def watch() -> None:
        nonlocal hung_up
        while (await receive())["type"] != "http.disconnect":
            pass
        if streaming:  # after the last chunk, a hang-up has nothing left to stop
            hung_up = True
            task.cancel()

    watcher: asyncio.Task[None] | None = None
    try:
        ended = False
        async for chunk in chunks:
            body = chunk if isinstance(chunk, bytes) else chunk.encode(encoding)
            ended = type(chunk) is LastChunk
            await send({"type": "http.response.body", "body": body, "more_body": not ended})
            if watcher is None and not ended:
                # The stream goes on: every wait for what comes next must end on a hang-up.
                watcher = asyncio.create_task(watch())
        if not ended:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not hung_up:
            raise  # not ours: the server is stopping, or uvicorn gave up
        task.uncancel()
    finally:
        streaming = False
        if watcher is not None:
            watcher.cancel()
