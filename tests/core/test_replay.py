"""The replay model's matchers and pacing, and redaction of recorded turns (pure logic)."""

from __future__ import annotations

import pytest

from emulator.core.fixtures import (
    REDACTED,
    Conversation,
    Fixture,
    FixtureTurn,
    Frame,
    RecordedSource,
    redact,
)
from emulator.core.replay import Position, delays, find_turn, miss, nearest_message, normalize


def turn(message: str, reply: str = "ok", *ms: int) -> FixtureTurn:
    times = ms or (0,)
    return FixtureTurn(
        message, tuple(Frame(reply if i == 0 else "", t) for i, t in enumerate(times))
    )


FIXTURE = Fixture(
    (
        Conversation((turn("What are your hours?", "9 to 5"), turn("Thanks", "Welcome")), "a"),
        Conversation((turn("Hello", "Hi"), turn("Thanks", "Bye")), "b"),
    )
)


def test_normalize_ignores_case_and_runs_of_whitespace() -> None:
    assert normalize("  What   are\tyour HOURS? ") == "what are your hours?"


@pytest.mark.parametrize(
    ("message", "turn_number", "last", "expected"),
    [
        ("what are  your hours?", 1, None, Position(0, 0)),
        ("Hello", 1, None, Position(1, 0)),
        # the thread follows the conversation it matched last
        ("thanks", 2, Position(1, 0), Position(1, 1)),
        ("thanks", 2, Position(0, 0), Position(0, 1)),
        # without a history: the same position (turn 2 -> index 1), first in file order
        ("thanks", 2, None, Position(0, 1)),
        # a message that does not follow on is still found elsewhere
        ("Hello", 3, Position(0, 1), Position(1, 0)),
        ("Goodbye", 1, None, None),
    ],
)
def test_find_turn(
    message: str, turn_number: int, last: Position | None, expected: Position | None
) -> None:
    assert find_turn(FIXTURE, message, turn_number, last) == expected


def test_find_turn_prefers_the_same_position_over_file_order() -> None:
    fixture = Fixture(
        (Conversation((turn("yes"), turn("no"))), Conversation((turn("start"), turn("yes"))))
    )
    assert find_turn(fixture, "yes", 2) == Position(1, 1)
    assert find_turn(fixture, "yes", 1) == Position(0, 0)


def test_a_miss_names_the_nearest_recorded_message() -> None:
    assert nearest_message(FIXTURE, "what are yor hours") == "What are your hours?"
    error = miss("support", FIXTURE, "what are yor hours")
    assert error.code == "replay_miss"
    assert error.message == (
        "No recorded turn in fixture 'support' matches 'what are yor hours'; "
        "the nearest recorded message is 'What are your hours?'"
    )
    assert "has no recorded turns" in miss("x", Fixture(), "hi").message


def test_delays_are_the_recorded_gaps_scaled_by_speed() -> None:
    recorded = FixtureTurn(
        "m", (Frame("a", 200), Frame("b", 250), Frame("c", 250), Frame("d", 400))
    )
    assert delays(recorded, 1.0) == (0.2, 0.05, 0.0, 0.15)
    assert delays(recorded, 2.0) == (0.1, 0.025, 0.0, 0.075)


def test_with_turn_appends_to_the_conversation_of_that_id() -> None:
    grown = (
        FIXTURE.with_turn("b", turn("Again")).with_turn("c", turn("New")).with_turn(None, turn("x"))
    )
    assert [len(c.turns) for c in grown.conversations] == [2, 3, 1, 1]
    assert grown.conversations[1].turns[-1].message == "Again"
    assert [c.id for c in grown.conversations] == ["a", "b", "c", None]


def test_redact_hides_secrets_in_message_frames_and_sources() -> None:
    recorded = FixtureTurn(
        "my key is sk-123",
        (Frame("Your key sk-", 10), Frame("123 is set; ", 20), Frame("secret-x too", 30)),
        (RecordedSource("d", "about sk-123", "https://x/?k=sk-123", snippet="sk-123"),),
    )
    hidden = redact(recorded, ["sk-123", "secret-x", ""])
    assert hidden.message == f"my key is {REDACTED}"
    # the key was cut across two frames: those two became one, at the later one's time
    assert hidden.frames == (
        Frame(f"Your key {REDACTED} is set; ", 20),
        Frame(f"{REDACTED} too", 30),
    )
    source = hidden.sources[0]
    assert (source.title, source.url, source.snippet) == (
        f"about {REDACTED}",
        f"https://x/?k={REDACTED}",
        REDACTED,
    )


def test_redact_keeps_frames_when_no_secret_spans_them() -> None:
    recorded = FixtureTurn("hi", (Frame("a sk-1 ", 1), Frame("b", 2)))
    assert redact(recorded, ["sk-1"]).frames == (Frame(f"a {REDACTED} ", 1), Frame("b", 2))
    assert redact(recorded, []) is recorded
