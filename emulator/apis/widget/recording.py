"""What `emulator record` needs to know about the widget: POST /v1/chat/stream (or /chat)
answers NDJSON `start {conversationId}`, `token {token}`, `done {message, conversationId}`, or
`error {error}`. The caller's `sessionId` is not the conversation id: the `start` line says it."""

from __future__ import annotations

import re
from typing import Any

from emulator.record.transcript import (
    ChatCall,
    ChatRoutes,
    Headers,
    NdjsonReply,
    ReplyReader,
    Transcript,
    failure_text,
    text_field,
)

CHAT = re.compile(r"(?:/.*)?(?:/v1/chat/stream|/chat)/?")


class WidgetTranscriber(ChatRoutes):
    """The caller's `sessionId` is not the conversation id: the `start` line says it."""

    api = "widget"
    chat = CHAT

    def reader(self, call: ChatCall, headers: Headers) -> ReplyReader:
        return NdjsonReply(call, _ndjson)


def _ndjson(value: Any, transcript: Transcript) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "token":
        return text_field(value, "token")
    if kind in ("start", "done"):
        transcript.conversation_id = (
            text_field(value, "conversationId") or transcript.conversation_id
        )
        transcript.complete = transcript.complete or kind == "done"
    elif kind == "error":
        transcript.failure = f"an error event ({failure_text(value.get('error'))})"
    return None


TRANSCRIBER = WidgetTranscriber()
