"""The sentientone API (seed 003): SSE `meta / sources / delta / done` with trace ids."""

from __future__ import annotations

from emulator.apis.base import Endpoint
from emulator.apis.sentientone.chat import chat, chat_stream
from emulator.apis.sentientone.dialect import DIALECT

ROUTES: list[tuple[str, str, Endpoint]] = [
    ("POST", "/v1/chat/stream", Endpoint(DIALECT, chat_stream)),
    ("POST", "/v1/chat", Endpoint(DIALECT, chat)),
]
