"""POST /chat and POST /chat/stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Response
from litestar.response import Stream

from emulator.apis.base import Call, require_object
from emulator.apis.framing import STREAM_HEADERS, Frame, NdjsonFrame, SseFrame, TextFrame, dumps
from emulator.apis.interlocute.dialect import error_response
from emulator.core.engine import Turn, TurnRequest
from emulator.core.errors import EmulatorError, InvalidRequest
from emulator.core.events import Done, Event, Failure, Sources, Start, Token

STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "text/plain")


def parse_turn(call: Call) -> TurnRequest:
    body = require_object(call)
    content = body.get("content")
    if content is None:
        raise InvalidRequest("'content' is required", field="content")
    if not isinstance(content, str):
        raise InvalidRequest("'content' must be a string", field="content")
    if not content.strip():
        raise InvalidRequest("'content' must not be empty", field="content")
    thread_id = body.get("threadId")
    if thread_id is not None and not isinstance(thread_id, str):
        raise InvalidRequest("'threadId' must be a string", field="threadId")
    return TurnRequest(
        message=content,
        thread_id=thread_id or None,
        request_id=call.request_id,
        idempotency_key=call.header("x-idempotency-key"),
        fingerprint=call.fingerprint(),
    )


def usage(turn: Turn) -> dict[str, int]:
    return {"inputTokens": turn.usage.input_tokens, "outputTokens": turn.usage.output_tokens}


def chat_body(turn: Turn) -> dict[str, Any]:
    return {
        "threadId": turn.thread_id,
        "messageId": turn.message_id,
        "content": turn.content,
        "model": turn.model,
        "usage": usage(turn),
        "createdAt": turn.created_at,
    }


async def chat(call: Call) -> Response[Any]:
    turn = call.engine.start_turn(call.node, parse_turn(call))
    await call.engine.wait_for_reply(call.node, turn)
    return Response(chat_body(turn), status_code=200, headers=_replay_header(turn))


async def chat_stream(call: Call) -> Response[Any]:
    media_type = negotiate_stream(call.header("accept"))
    turn = call.engine.start_turn(call.node, parse_turn(call))
    frames = _frames(call.engine.events(call.node, turn), media_type)
    return Stream(
        _encoded(frames),
        media_type=media_type if media_type != "text/plain" else "text/plain; charset=utf-8",
        headers={**STREAM_HEADERS, **_replay_header(turn)},
        status_code=200,
    )


def negotiate_stream(accept: str | None) -> str:
    """SSE unless the client asks for NDJSON or plain text by name."""
    if not accept:
        return "text/event-stream"
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for media_type in wanted:
        if media_type in STREAM_TYPES:
            return media_type
    return "text/event-stream"


def encode_event(event: Event, media_type: str) -> Frame | None:
    name, data = _event_data(event)
    if data is None:
        return None
    if media_type == "application/x-ndjson":
        return NdjsonFrame({"type": name, **data})
    if media_type == "text/plain":
        return TextFrame(event.text) if isinstance(event, Token) else None
    return SseFrame(dumps(data), event=name)


def _event_data(event: Event) -> tuple[str, dict[str, Any] | None]:
    if isinstance(event, Start):
        return "start", {"threadId": event.turn.thread_id, "messageId": event.turn.message_id}
    if isinstance(event, Token):
        return "token", {"content": event.text}
    if isinstance(event, Done):
        turn = event.turn
        return "done", {
            "threadId": turn.thread_id,
            "messageId": turn.message_id,
            "content": turn.content,
            "usage": usage(turn),
        }
    if isinstance(event, Failure):
        return "error", {"error": {"code": event.code, "message": event.message}}
    assert isinstance(event, Sources)
    return "sources", None  # interlocute streams carry no sources


async def _frames(events: AsyncIterator[Event], media_type: str) -> AsyncIterator[Frame]:
    try:
        async for event in events:
            frame = encode_event(event, media_type)
            if frame is not None:
                yield frame
    except EmulatorError as exc:
        failure = encode_event(Failure(exc.code, exc.message), media_type)
        if failure is not None:
            yield failure


async def _encoded(frames: AsyncIterator[Frame]) -> AsyncIterator[bytes]:
    async for frame in frames:
        yield frame.encode()


def _replay_header(turn: Turn) -> dict[str, str]:
    return {"X-Idempotent-Replay": "true"} if turn.replayed else {}


__all__ = ["chat", "chat_stream", "error_response"]
