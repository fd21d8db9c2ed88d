"""POST /v1/api/chat/{slug}: one JSON envelope, or SSE `{"chunk"}` lines ending in `[DONE]`."""

from __future__ import annotations

from typing import Any

from litestar import Response

from emulator.apis.agent_slug.dialect import error_envelope
from emulator.apis.base import Call, require_object
from emulator.apis.framing import (
    STREAM_HEADERS,
    EventStream,
    JsonReply,
    SseFrame,
    dumps,
    encode_stream,
    json_bytes,
)
from emulator.core.engine import Turn, TurnRequest
from emulator.core.errors import EmulatorError, InvalidRequest
from emulator.core.events import Done, Event, Failure, Token

SPACED = (", ", ": ")  # the seed's chunks read `{"chunk": "Hello"}`
DONE = SseFrame("[DONE]")


def parse(call: Call) -> tuple[TurnRequest, bool]:
    body = require_object(call)
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        raise InvalidRequest("Message field must be a string", field="message")
    if message is None or not message.strip():
        # Missing, null, "" and blank are one case: no message to send (the seed's text).
        raise InvalidRequest("Message field is required", field="message")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequest("Stream field must be a boolean", field="stream")
    conversation = body.get("conversationId")
    if conversation is not None and not isinstance(conversation, str):
        raise InvalidRequest(
            "ConversationId field must be a string or null", field="conversationId"
        )
    turn = TurnRequest(
        message=message,
        thread_id=conversation or None,
        request_id=call.request_id,
        thread_prefix="conv_",
    )
    return turn, stream


def envelope(turn: Turn) -> dict[str, Any]:
    tokens = turn.usage.input_tokens + turn.usage.output_tokens
    return {
        "data": {
            "response": turn.content,
            "conversationId": turn.thread_id,
            "metadata": {"model": turn.model, "tokens": tokens},
        },
        "error": None,
    }


async def chat(call: Call) -> Response[Any]:
    request, stream = parse(call)
    turn = await call.engine.begin_turn(call.node, request)
    if stream:
        events = call.engine.events(call.node, turn, call.arrived)
        frames = encode_stream(events, encode_event, failed, token_bytes)
        headers = {**STREAM_HEADERS, "X-Conversation-Id": turn.thread_id}
        return EventStream(frames, media_type="text/event-stream", headers=headers, status_code=200)
    await call.engine.wait_for_reply(call.node, turn, call.arrived)
    return JsonReply(envelope(turn))


def encode_event(event: Event) -> SseFrame | None:
    if isinstance(event, Token):
        return SseFrame(dumps({"chunk": event.text}, separators=SPACED))
    if isinstance(event, Failure):
        return failed(EmulatorError(event.message))
    return DONE if isinstance(event, Done) else None


def token_bytes(text: str) -> bytes:
    """A chunk's frame, as `encode_event` makes it (tests/apis/test_stream_chunks.py)."""
    return b'data: {"chunk": ' + json_bytes(text) + b"}\n\n"


def failed(exc: EmulatorError) -> SseFrame:
    """A failure mid-stream: the error envelope as one last `data:` line, and no `[DONE]`."""
    return SseFrame(dumps(error_envelope(exc), separators=SPACED))
