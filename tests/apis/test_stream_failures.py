"""A core error after a stream began becomes each API's own mid-stream error frame."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from emulator.apis.framing import Frame, encode_stream
from emulator.core.engine import Turn, Usage
from emulator.core.errors import EmulatorError, ModelError
from emulator.core.events import Event, Failure, Start, Token

TURN = Turn("n", "c1", "m0", "m1", "Hi", ("Hi",), "model", Usage(1, 1), "2026-01-01", "trc_1")


async def broken() -> AsyncIterator[Event]:
    yield Start(TURN)
    yield Token("Hi", 0)
    raise ModelError("No recorded turn matches")


async def failing() -> AsyncIterator[Event]:
    yield Start(TURN)
    yield Failure("injected_fault", "Stream broken on purpose")


def sent(
    events: Callable[[], AsyncIterator[Event]],
    encode: Callable[[Event], Frame | None],
    failed: Callable[[EmulatorError], Frame],
) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [chunk async for chunk in encode_stream(events(), encode, failed)]

    return asyncio.run(collect())


slug_chat = importlib.import_module("emulator.apis.agent_slug.chat")
sentient_chat = importlib.import_module("emulator.apis.sentientone.chat")
widget_chat = importlib.import_module("emulator.apis.widget.chat")

CASES: dict[str, tuple[Any, Any, bytes]] = {
    "agent-slug": (
        slug_chat.encode_event,
        slug_chat.failed,
        b'data: {"data": null, "error": {"name": "InternalServerError", '
        b'"message": "Internal server error", "details": {}}}\n\n',
    ),
    "sentientone": (
        sentient_chat._encoder(TURN),
        sentient_chat._failed(TURN),
        b'data: {"type":"error","error":{"code":"model_error",'
        b'"message":"No recorded turn matches"},"trace_id":"trc_1"}\n\n',
    ),
    "widget": (
        widget_chat.encode_event,
        widget_chat.failed,
        b'{"type":"error","error":"Internal server error"}\n',
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_core_error_mid_stream_is_the_last_frame(case: tuple[Any, Any, bytes]) -> None:
    encode, failed, last = case
    body = b"".join(sent(broken, encode, failed))
    assert body.endswith(last)
    token = encode(Token("Hi", 0))
    assert token is not None and token.encode() in body[: -len(last)]  # what came before stays


def test_a_failure_event_is_encoded_like_a_raised_error() -> None:
    frames = sent(failing, sentient_chat._encoder(TURN), sentient_chat._failed(TURN))
    assert b"".join(frames).endswith(
        b'data: {"type":"error","error":{"code":"injected_fault",'
        b'"message":"Stream broken on purpose"},"trace_id":"trc_1"}\n\n'
    )
    widget_frames = sent(failing, widget_chat.encode_event, widget_chat.failed)
    assert b"".join(widget_frames).endswith(b'{"type":"error","error":"Internal server error"}\n')
