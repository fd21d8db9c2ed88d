"""POST /chat and POST /chat/stream."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Response

from emulator.apis.base import Call, optional_text, require_object, required_text
from emulator.apis.framing import (
    STREAM_HEADERS,
    EventStream,
    Frame,
    JsonReply,
    NdjsonFrame,
    SseFrame,
    TextFrame,
    TokenBytes,
    dumps,
    encode_stream,
    json_bytes,
)
from emulator.apis.interlocute.dialect import error_response
from emulator.core.engine import Turn, TurnRequest
from emulator.core.errors import EmulatorError
from emulator.core.events import Done, Event, Failure, Sources, Start, Token

STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "text/plain")


def parse_turn(call: Call) -> TurnRequest:
    body = require_object(call)
    key = call.header("x-idempotency-key")
    return TurnRequest(
        message=required_text(body, "content"),
        thread_id=optional_text(body, "threadId"),
        request_id=call.request_id,
        idempotency_key=key,
        fingerprint=call.fingerprint() if key else "",
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
    turn = await call.engine.begin_turn(call.node, parse_turn(call))
    await call.engine.wait_for_reply(call.node, turn, call.arrived)
    return JsonReply(chat_body(turn), headers=_replay_header(turn))


async def chat_stream(call: Call) -> Response[Any]:
    media_type = negotiate_stream(call.header("accept"))
    turn = await call.engine.begin_turn(call.node, parse_turn(call))
    frames = encode_stream(
        call.engine.events(call.node, turn, call.arrived),
        partial(encode_event, media_type=media_type),
        partial(_failed, media_type=media_type),
        TOKEN_BYTES[media_type],
    )
    return EventStream(
        frames,
        media_type=media_type,  # Litestar adds "; charset=utf-8" to text/* types itself
        headers={**STREAM_HEADERS, **_replay_header(turn)},
        status_code=200,
    )


def negotiate_stream(accept: str | None) -> str:
    """SSE unless the client asks for NDJSON or plain text by name; the highest q-value wins,
    the first named of a tie."""
    best, best_q = "text/event-stream", 0.0
    for part in (accept or "").split(","):
        media_type, *params = (p.strip().lower() for p in part.split(";"))
        if media_type not in STREAM_TYPES:
            continue
        q = next((_quality(p[2:]) for p in params if p.startswith("q=")), 1.0)
        if q > best_q:
            best, best_q = media_type, q
    return best


def _quality(text: str) -> float:
    try:
        return min(max(float(text), 0.0), 1.0)
    except ValueError:
        return 0.0


def encode_event(event: Event, media_type: str) -> Frame | None:
    name, data = _event_data(event)
    if data is None:
        return None
    if media_type == "application/x-ndjson":
        return NdjsonFrame({"type": name, **data})
    if media_type == "text/plain":
        return TextFrame(event.text) if isinstance(event, Token) else None
    return SseFrame(dumps(data), event=name)


# A token's frame in each media type, as `encode_event` makes it (tests/apis/test_stream_chunks.py).
TOKEN_BYTES: dict[str, TokenBytes] = {
    "text/event-stream": lambda text: (
        b'event: token\ndata: {"content":' + json_bytes(text) + b"}\n\n"
    ),
    "application/x-ndjson": lambda text: b'{"type":"token","content":' + json_bytes(text) + b"}\n",
    "text/plain": str.encode,
}


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


def _failed(exc: EmulatorError, media_type: str) -> Frame:
    # Plain text has no error frame: the text just stops.
    return encode_event(Failure(exc.code, exc.message), media_type) or TextFrame("")


def _replay_header(turn: Turn) -> dict[str, str]:
    return {"X-Idempotent-Replay": "true"} if turn.replayed else {}


__all__ = ["chat", "chat_stream", "error_response"]
