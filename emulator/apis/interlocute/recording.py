"""What `emulator record` needs to know about interlocute: POST /chat answers JSON
`{"content", "threadId"}`; POST /chat/stream answers SSE `start / token / done / error`, the same
events as NDJSON lines with a `type`, or raw token text (by Accept)."""

from __future__ import annotations

import re
from typing import Any

from emulator.record.transcript import (
    ChatCall,
    ChatRoutes,
    Headers,
    JsonReply,
    NdjsonReply,
    ReplyReader,
    SseEvent,
    SseReply,
    TextReply,
    Transcript,
    failure_text,
    json_data,
    media_type,
    text_field,
)

CHAT = re.compile(r"(?:/.*)?/chat(?:/stream)?/?")  # any base path before it


class InterlocuteTranscriber(ChatRoutes):
    api = "interlocute"
    chat = CHAT
    message_field = "content"
    conversation_field = "threadId"

    def reader(self, call: ChatCall, headers: Headers) -> ReplyReader:
        kind = media_type(headers)
        if kind == "text/event-stream":
            return SseReply(call, _sse)
        if kind == "application/x-ndjson":
            return NdjsonReply(call, _ndjson)
        if kind == "text/plain":
            return TextReply(call)  # the thread id is the request's, when it names one
        return JsonReply(call, _json)


def _sse(event: SseEvent, transcript: Transcript) -> str | None:
    return _event(event.event, json_data(event), transcript)


def _ndjson(value: Any, transcript: Transcript) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else None
    return _event(str(kind), value, transcript)


def _event(kind: str, data: Any, transcript: Transcript) -> str | None:
    if not isinstance(data, dict):
        return None
    if kind == "token":
        return text_field(data, "content")
    if kind in ("start", "done"):
        transcript.conversation_id = text_field(data, "threadId") or transcript.conversation_id
        transcript.complete = transcript.complete or kind == "done"
    elif kind == "error":
        transcript.failure = f"an error event ({failure_text(data.get('error'))})"
    return None


def _json(value: Any, transcript: Transcript) -> str | None:
    transcript.conversation_id = text_field(value, "threadId") or transcript.conversation_id
    return text_field(value, "content")


TRANSCRIBER = InterlocuteTranscriber()
