"""The agent-slug API (seed 002): POST /v1/api/chat/{slug}, `{data, error}` bodies, SSE chunks."""

from __future__ import annotations

from emulator.apis.agent_slug.chat import chat
from emulator.apis.agent_slug.dialect import DIALECT
from emulator.apis.base import Endpoint

BODY = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string", "minLength": 1, "pattern": "\\S"},
        "stream": {"type": "boolean"},
        "conversationId": {"type": ["string", "null"]},
    },
}

ROUTES: list[tuple[str, str, Endpoint]] = [
    (
        "POST",
        "/v1/api/chat/{slug:str}",
        Endpoint(DIALECT, chat, body=BODY, media_types=("application/json", "text/event-stream")),
    ),
]
