"""The widget API (seed 004): NDJSON `start / token / done / error`, keyed by a client sessionId."""

from __future__ import annotations

from emulator.apis.base import Endpoint
from emulator.apis.widget.chat import chat_stream
from emulator.apis.widget.dialect import DIALECT

ROUTES: list[tuple[str, str, Endpoint]] = [
    ("POST", "/v1/chat/stream", Endpoint(DIALECT, chat_stream)),
    ("POST", "/chat", Endpoint(DIALECT, chat_stream)),  # the seed's alias, the widget's default
]
