"""What `emulator record` needs to know about agent-slug: POST /v1/api/chat/{slug} answers
`{"data": {"response", "conversationId"}, "error"}`, or with `stream: true` SSE
`data: {"chunk"}` lines ending in `data: [DONE]`, the conversation id in `X-Conversation-Id`."""

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
    text_field,
)

CHAT = re.compile(r"(?:/.*)?/v1/api/chat/[^/]+/?")


class AgentSlugTranscriber(ChatRoutes):
    api = "agent-slug"
    chat = CHAT
    conversation_field = "conversationId"

    def reader(self, call: ChatCall, headers: Headers) -> ReplyReader:
        if media_type(headers) != "text/event-stream":
            return JsonReply(call, _json)
        reader = SseReply(call, _sse)
        conversation = headers.get("x-conversation-id") or call.conversation_id
        reader.transcript.conversation_id = conversation
        return reader


def _sse(event: SseEvent, transcript: Transcript) -> str | None:
    if event.data == "[DONE]":
        transcript.complete = True
        return None
    data = json_data(event)
    if isinstance(data, dict) and data.get("error") is not None:
        transcript.failure = f"an error event ({failure_text(data['error'])})"
        return None
    return text_field(data, "chunk")


def _json(value: Any, transcript: Transcript) -> str | None:
    if not isinstance(value, dict) or value.get("error") is not None:
        return None
    data = value.get("data")
    transcript.conversation_id = text_field(data, "conversationId") or transcript.conversation_id
    return text_field(data, "response")


TRANSCRIBER = AgentSlugTranscriber()
