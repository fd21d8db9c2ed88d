"""The interlocute API (seeds 000 and 001): JSON chat, streaming chat, threads, /chit."""

from __future__ import annotations

from emulator.apis.base import Endpoint
from emulator.apis.interlocute.chat import chat, chat_stream
from emulator.apis.interlocute.chit.routes import chit_overview, chit_section
from emulator.apis.interlocute.dialect import DIALECT

ROUTES: list[tuple[str, str, Endpoint]] = [
    ("POST", "/chat", Endpoint(DIALECT, chat)),
    ("POST", "/chat/stream", Endpoint(DIALECT, chat_stream)),
    ("GET", "/chit", Endpoint(DIALECT, chit_overview, metered=False)),
    ("GET", "/chit/{section:str}", Endpoint(DIALECT, chit_section, metered=False)),
]
