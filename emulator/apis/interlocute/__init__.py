"""The interlocute API (seeds 000 and 001): JSON chat, streaming chat, threads, /chit."""

from __future__ import annotations

from emulator.apis.base import Endpoint
from emulator.apis.interlocute.chat import chat, chat_stream
from emulator.apis.interlocute.chit.routes import chit_overview, chit_section
from emulator.apis.interlocute.dialect import DIALECT

BODY = {
    "type": "object",
    "required": ["content"],
    "properties": {
        "content": {"type": "string", "minLength": 1, "pattern": "\\S"},
        "threadId": {"type": ["string", "null"]},
    },
}
STREAMS = ("text/event-stream", "application/x-ndjson", "text/plain")
CHIT = ("application/json", "text/plain", "text/markdown")

ROUTES: list[tuple[str, str, Endpoint]] = [
    ("POST", "/chat", Endpoint(DIALECT, chat, body=BODY, statuses=(409,))),
    (
        "POST",
        "/chat/stream",
        Endpoint(DIALECT, chat_stream, body=BODY, media_types=STREAMS, statuses=(409,)),
    ),
    (
        "GET",
        "/chit",
        Endpoint(DIALECT, chit_overview, metered=False, media_types=CHIT, statuses=(304, 406)),
    ),
    (
        "GET",
        "/chit/{section:str}",
        Endpoint(DIALECT, chit_section, metered=False, media_types=CHIT, statuses=(304, 406)),
    ),
]
