"""The widget API (seed 004): NDJSON `start / token / done / error`, keyed by a client sessionId."""

from __future__ import annotations

from emulator.apis.base import Endpoint
from emulator.apis.widget.chat import chat_stream
from emulator.apis.widget.dialect import DIALECT

BODY = {
    "type": "object",
    "required": ["sessionId", "message"],
    "properties": {
        "sessionId": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
        "message": {"type": "string", "minLength": 1, "pattern": "\\S"},
    },
}
STREAM = Endpoint(DIALECT, chat_stream, body=BODY, media_types=("application/x-ndjson",))

ROUTES: list[tuple[str, str, Endpoint]] = [
    ("POST", "/v1/chat/stream", STREAM),
    ("POST", "/chat", STREAM),  # the seed's alias, the widget's default
]
