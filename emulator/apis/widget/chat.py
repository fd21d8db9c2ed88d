"""POST /v1/chat/stream and POST /chat: NDJSON lines, one per event."""

from __future__ import annotations

import re
from typing import Any

from litestar import Response

from emulator.apis.base import Call, require_object
from emulator.apis.framing import (
    STREAM_HEADERS,
    EventStream,
    NdjsonFrame,
    encode_stream,
    json_bytes,
)
from emulator.apis.widget.dialect import INTERNAL
from emulator.core.engine import TurnRequest
from emulator.core.errors import EmulatorError, InvalidRequest
from emulator.core.events import Done, Event, Failure, Start, Token

SESSION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def parse(call: Call) -> TurnRequest:
    """Every problem is the same 400 on the wire; the messages are for the journal and logs."""
    body = require_object(call)
    session, message = body.get("sessionId"), body.get("message")
    if not isinstance(session, str) or not SESSION_ID.fullmatch(session):
        raise InvalidRequest("'sessionId' must match ^[A-Za-z0-9._:-]{1,128}$", field="sessionId")
    if not isinstance(message, str) or not message.strip():
        raise InvalidRequest("'message' must be a non-empty string", field="message")
    return TurnRequest(
        message=message, session=session, request_id=call.request_id, thread_prefix=""
    )


async def chat_stream(call: Call) -> Response[Any]:
    turn = await call.engine.begin_turn(call.node, parse(call))
    frames = encode_stream(
        call.engine.events(call.node, turn, call.arrived), encode_event, failed, token_bytes
    )
    return EventStream(
        frames, media_type="application/x-ndjson", headers=STREAM_HEADERS, status_code=200
    )


def encode_event(event: Event) -> NdjsonFrame | None:
    if isinstance(event, Start):
        return NdjsonFrame({"type": "start", "conversationId": event.turn.thread_id})
    if isinstance(event, Token):
        return NdjsonFrame({"type": "token", "token": event.text})
    if isinstance(event, Done):
        turn = event.turn
        return NdjsonFrame(
            {"type": "done", "message": turn.content, "conversationId": turn.thread_id}
        )
    if isinstance(event, Failure):
        return failed(EmulatorError(event.message))
    return None  # the widget shows no sources


def token_bytes(text: str) -> bytes:
    """A token's line, as `encode_event` makes it (tests/apis/test_stream_chunks.py)."""
    return b'{"type":"token","token":' + json_bytes(text) + b"}\n"


def failed(exc: EmulatorError) -> NdjsonFrame:
    """The seed's only mid-stream error: the detail stays in the server log, not on the wire."""
    return NdjsonFrame({"type": "error", "error": INTERNAL})
