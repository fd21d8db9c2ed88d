"""What `emulator record` needs to know about sentientone: POST /v1/chat/stream answers SSE
with one JSON object per `data:` line (`meta`, `sources`, `delta`, `done`, or `error`);
POST /v1/chat answers `{"conversation_id", "content", "sources"}`."""

from __future__ import annotations

import re
from typing import Any

from emulator.record.transcript import (
    ChatCall,
    ChatRoutes,
    Headers,
    JsonReply,
    ReplyReader,
    SseEvent,
    SseReply,
    Transcript,
    failure_text,
    json_data,
    media_type,
    sources,
    text_field,
)

CHAT = re.compile(r"(?:/.*)?/v1/chat(?:/stream)?/?")


class SentientoneTranscriber(ChatRoutes):
    api = "sentientone"
    chat = CHAT
    conversation_field = "conversation_id"

    def reader(self, call: ChatCall, headers: Headers) -> ReplyReader:
        if media_type(headers) == "text/event-stream":
            return SseReply(call, _sse)
        return JsonReply(call, _json)


def _sse(event: SseEvent, transcript: Transcript) -> str | None:
    data = json_data(event)
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "delta":
        return text_field(data, "content")
    if kind in ("meta", "done"):
        transcript.conversation_id = (
            text_field(data, "conversation_id") or transcript.conversation_id
        )
        transcript.complete = transcript.complete or kind == "done"
    elif kind == "sources":
        transcript.sources = sources(data.get("sources"))
    elif kind == "error":
        transcript.failure = f"an error event ({failure_text(data.get('error'))})"
    return None


def _json(value: Any, transcript: Transcript) -> str | None:
    transcript.conversation_id = text_field(value, "conversation_id") or transcript.conversation_id
    if isinstance(value, dict):
        transcript.sources = sources(value.get("sources"))
    return text_field(value, "content")


TRANSCRIBER = SentientoneTranscriber()
