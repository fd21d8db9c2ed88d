"""POST /v1/chat/stream (SSE, seed 003) and POST /v1/chat (one JSON body, our design)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Response
from msgspec.structs import asdict

from emulator.apis.base import Call, optional_text, require_object, required_text
from emulator.apis.framing import (
    STREAM_HEADERS,
    EventStream,
    JsonReply,
    SseFrame,
    dumps,
    encode_stream,
    json_bytes,
)
from emulator.apis.sentientone.dialect import error_code, error_message
from emulator.core.engine import Turn, TurnRequest
from emulator.core.errors import EmulatorError
from emulator.core.events import Done, Event, Failure, Sources, Start, Token
from emulator.core.sources import Source


def parse(call: Call) -> TurnRequest:
    body = require_object(call)
    return TurnRequest(
        message=required_text(body, "message"),
        thread_id=optional_text(body, "conversation_id"),
        request_id=call.request_id,
        thread_prefix="conv-",
    )


def sources(found: tuple[Source, ...]) -> list[dict[str, Any]]:
    return [asdict(source) for source in found]


async def chat_stream(call: Call) -> Response[Any]:
    turn = await call.engine.begin_turn(call.node, parse(call))
    events = call.engine.events(call.node, turn, call.arrived)
    frames = encode_stream(events, _encoder(turn), _failed(turn), token_bytes)
    headers = {**STREAM_HEADERS, "X-Trace-Id": turn.trace_id}
    return EventStream(frames, media_type="text/event-stream", headers=headers, status_code=200)


async def chat(call: Call) -> Response[Any]:
    turn = await call.engine.begin_turn(call.node, parse(call))
    await call.engine.wait_for_reply(call.node, turn, call.arrived)
    return JsonReply(answer(turn), headers={"X-Trace-Id": turn.trace_id})


def answer(turn: Turn) -> dict[str, Any]:
    return {
        "conversation_id": turn.thread_id,
        "trace_id": turn.trace_id,
        "content": turn.content,
        "sources": sources(turn.sources),
    }


def encode_event(event: Event) -> SseFrame | None:
    """One compact JSON object per `data:` line and no `event:` field, as in the seed."""
    if isinstance(event, Start | Done):
        kind = "meta" if isinstance(event, Start) else "done"
        ids = {"conversation_id": event.turn.thread_id, "trace_id": event.turn.trace_id}
        return SseFrame(dumps({"type": kind, **ids}))
    if isinstance(event, Sources):
        return SseFrame(dumps({"type": "sources", "sources": sources(event.sources)}))
    if isinstance(event, Token):
        return SseFrame(dumps({"type": "delta", "content": event.text}))
    return None  # a Failure needs the trace id: see `_encoder`


def token_bytes(text: str) -> bytes:
    """A delta's frame, as `encode_event` makes it (tests/apis/test_stream_chunks.py)."""
    return b'data: {"type":"delta","content":' + json_bytes(text) + b"}\n\n"


def _encoder(turn: Turn) -> Callable[[Event], SseFrame | None]:
    def encode(event: Event) -> SseFrame | None:
        if isinstance(event, Failure):
            return error_frame(event.code, event.message, turn.trace_id)
        return encode_event(event)

    return encode


def _failed(turn: Turn) -> Callable[[EmulatorError], SseFrame]:
    def failed(exc: EmulatorError) -> SseFrame:
        return error_frame(error_code(exc), error_message(exc), turn.trace_id)

    return failed


def error_frame(code: str, message: str, trace_id: str) -> SseFrame:
    """A failure mid-stream, shaped like the error body plus `"type": "error"`."""
    error = {"code": code, "message": message}
    return SseFrame(dumps({"type": "error", "error": error, "trace_id": trace_id}))
