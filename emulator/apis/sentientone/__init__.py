"""The sentientone API (seed 003): SSE `meta / sources / delta / done` with trace ids."""

from __future__ import annotations

from emulator.apis.base import Endpoint
from emulator.apis.sentientone.chat import chat, chat_stream
from emulator.apis.sentientone.dialect import DIALECT

BODY = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string", "minLength": 1, "pattern": "\\S"},
        "conversation_id": {"type": ["string", "null"]},
    },
}

ROUTES: list[tuple[str, str, Endpoint]] = [
    (
        "POST",
        "/v1/chat/stream",
        Endpoint(DIALECT, chat_stream, body=BODY, media_types=("text/event-stream",)),
    ),
    ("POST", "/v1/chat", Endpoint(DIALECT, chat, body=BODY)),
]
