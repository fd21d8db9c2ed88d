"""The replay model's matching: which recorded turn answers a message, and why none does.

Plain functions over a `Fixture`, like vcrpy's matchers: a message matches a recorded one when
they are equal ignoring case and runs of whitespace. A thread follows the conversation it
matched before, so a recorded dialogue replays in order even when two conversations share a
message ("Thanks").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import msgspec

from emulator.core.errors import ModelError
from emulator.core.fixtures import Fixture, FixtureTurn


class ReplayMiss(ModelError):
    """No recorded turn matches the message (and the node has no fallback)."""

    code = "replay_miss"


class FixtureSource(Protocol):
    def fixture(self, name: str) -> Fixture:
        """The named fixture; raises ModelError (with the reason) when it is missing or broken."""
        ...


class Position(msgspec.Struct, frozen=True):
    conversation: int
    turn: int


def normalize(message: str) -> str:
    return " ".join(message.casefold().split())


def find_turn(
    fixture: Fixture, message: str, turn_number: int, last: Position | None = None
) -> Position | None:
    """The recorded turn that answers `message`, or None. In order of preference: the turn
    after the one this thread matched last; a turn at the same position (turn N of a thread
    answers from turn N of a conversation); the first match in the file."""
    key = normalize(message)
    if last is not None:
        following = Position(last.conversation, last.turn + 1)
        recorded = turn_at(fixture, following)
        if recorded is not None and normalize(recorded.message) == key:
            return following
    matches = [p for p, turn in _turns(fixture) if normalize(turn.message) == key]
    same_place = (p for p in matches if p.turn == turn_number - 1)
    return next(same_place, matches[0] if matches else None)


def turn_at(fixture: Fixture, position: Position) -> FixtureTurn | None:
    if not 0 <= position.conversation < len(fixture.conversations):
        return None
    turns = fixture.conversations[position.conversation].turns
    return turns[position.turn] if 0 <= position.turn < len(turns) else None


def nearest_message(fixture: Fixture, message: str) -> str | None:
    """The recorded message most like `message` (for the error of a miss)."""
    from difflib import SequenceMatcher  # difflib loads on a miss: 1.7 ms of start-up otherwise

    key = normalize(message)
    best: tuple[float, str] | None = None
    for _, turn in _turns(fixture):
        ratio = SequenceMatcher(None, key, normalize(turn.message)).ratio()
        if best is None or ratio > best[0]:
            best = (ratio, turn.message)
    return best[1] if best else None


def miss(name: str, fixture: Fixture, message: str) -> ReplayMiss:
    nearest = nearest_message(fixture, message)
    shown = _shorten(message)
    if nearest is None:
        return ReplayMiss(f"Fixture '{name}' has no recorded turns; nothing matches '{shown}'")
    return ReplayMiss(
        f"No recorded turn in fixture '{name}' matches '{shown}'; "
        f"the nearest recorded message is '{_shorten(nearest)}'"
    )


def delays(turn: FixtureTurn, speed: float) -> tuple[float, ...]:
    """Seconds to wait before each frame: the recorded gaps, divided by `speed`."""
    waits: list[float] = []
    previous = 0
    for frame in turn.frames:
        waits.append(max(0, frame.ms - previous) / 1000.0 / speed)
        previous = max(previous, frame.ms)
    return tuple(waits)


def _turns(fixture: Fixture) -> Iterator[tuple[Position, FixtureTurn]]:
    for c, conversation in enumerate(fixture.conversations):
        for t, turn in enumerate(conversation.turns):
            yield Position(c, t), turn


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
