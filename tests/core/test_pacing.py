"""Latency counts from when the request arrived: time already spent on it comes off the time to
the first token, and the tokens after it keep their pace."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.loader import parse_config
from emulator.core.engine import Engine, TurnRequest
from emulator.core.events import Pause
from emulator.core.store import TinyStore

CONFIG = """
version: 1
nodes:
  slow:
    api: interlocute
    model: {kind: echo}
    latency: {first_token_ms: 200, tokens_per_second: 10}
    auth: {anonymous: true}
"""
MESSAGE = "one two three four"  # four tokens, echoed


class BusyClock:
    """A clock on which each `now()` (read while a turn is made) costs `busy` seconds; sleeps
    are noted and pass at once."""

    def __init__(self, busy: float = 0.0) -> None:
        self.seconds = 100.0
        self.busy = busy
        self.slept: list[float] = []

    def now(self) -> datetime:
        self.seconds += self.busy
        return datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.seconds += seconds


def paused(engine: Engine, since: float | None) -> list[float]:
    node = engine.config.nodes["slow"]
    turn = engine.start_turn(node, TurnRequest(MESSAGE))

    async def collect() -> list[float]:
        return [e.seconds async for e in engine.events(node, turn, since) if isinstance(e, Pause)]

    return [round(s, 6) for s in asyncio.run(collect())]


def engine_with(clock: BusyClock) -> Engine:
    return Engine(parse_config(CONFIG, "test.yaml"), TinyStore(None), clock=clock, seed=1)


@pytest.mark.parametrize(
    ("spent", "expected"),
    [
        (None, [0.2, 0.1, 0.1, 0.1]),  # no arrival time: the configured latency as is
        (0.0, [0.2, 0.1, 0.1, 0.1]),
        (0.15, [0.05, 0.1, 0.1, 0.1]),
        (0.5, [0.1, 0.1, 0.1]),  # later than the first token was due: it goes at once
    ],
)
def test_time_spent_comes_off_the_first_token_only(
    spent: float | None, expected: list[float]
) -> None:
    clock = BusyClock()
    engine = engine_with(clock)
    since = None if spent is None else clock.monotonic() - spent
    assert paused(engine, since) == expected


def test_a_whole_reply_waits_out_the_rest_of_its_latency() -> None:
    clock = BusyClock()
    engine = engine_with(clock)
    node = engine.config.nodes["slow"]
    turn = engine.start_turn(node, TurnRequest(MESSAGE))
    asyncio.run(engine.wait_for_reply(node, turn, since=clock.monotonic() - 0.15))
    assert clock.slept == [0.35]  # 0.2 + 3 x 0.1, less the 0.15 already spent


def test_over_http_a_slow_start_does_not_delay_the_first_token() -> None:
    # Making the turn takes 0.06 s of the clock (two `now()` readings of 0.03): the first token
    # then waits 0.14 s, not 0.2 s, so it leaves 0.2 s after the request arrived.
    clock = BusyClock(busy=0.03)
    engine = engine_with(clock)
    with TestClient(build_app(engine), base_url="http://127.0.0.1:8080") as client:
        answer = client.post("/nodes/slow/chat/stream", json={"content": MESSAGE})
        assert answer.status_code == 200
        assert answer.text.count("event: token") == 4
    first, *rest = clock.slept
    assert 0 < first < 0.2
    assert rest == [0.1, 0.1, 0.1]
