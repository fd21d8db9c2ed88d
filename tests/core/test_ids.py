"""Ids: their shape, their spread, and exact repetition under a seed; the random pool behind
them; timestamps."""

from __future__ import annotations

import string
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest

from emulator.core.seams import IdChars, Ids, RandomBytes, isoformat

ALPHABET = set(string.ascii_lowercase + string.digits)


def test_an_id_is_its_prefix_then_lowercase_letters_and_digits() -> None:
    ids = Ids()
    for length in (1, 24, 32, 100):
        made = ids.new("thr_", length)
        assert made.startswith("thr_")
        assert len(made) == 4 + length
        assert set(made[4:]) <= ALPHABET


def test_unseeded_ids_differ() -> None:
    ids = Ids()
    assert len({ids.new("msg_") for _ in range(1000)}) == 1000


def test_a_seed_repeats_the_whole_sequence_and_another_seed_does_not() -> None:
    def sequence(seed: int) -> list[str]:
        ids = Ids(seed)
        return [ids.new(p, n) for p, n in [("thr_", 24), ("msg_", 24), ("trc_", 32)] * 50]

    assert sequence(7) == sequence(7)
    assert sequence(7) != sequence(8)
    assert len(set(sequence(7))) == 150


def test_every_character_is_used_about_equally() -> None:
    ids = Ids(1)
    counts = Counter("".join(ids.new("", 36) for _ in range(1000)))
    assert set(counts) == ALPHABET
    assert max(counts.values()) < 1.3 * min(counts.values())  # 1,000 expected each


def test_pooled_random_bytes_are_never_handed_out_twice() -> None:
    draw = RandomBytes()
    # Across many refills of the 4 KiB pool, and a draw larger than the pool itself.
    pieces = [draw(12) for _ in range(3000)] + [draw(RandomBytes.CHUNK + 10), draw(12)]
    assert [len(p) for p in pieces[-2:]] == [RandomBytes.CHUNK + 10, 12]
    assert len(set(pieces)) == len(pieces)


def test_pooled_random_bytes_are_not_shared_between_threads() -> None:
    draw = RandomBytes()
    with ThreadPoolExecutor(4) as pool:
        pieces = list(pool.map(lambda _: draw(16), range(4000)))
    assert len(set(pieces)) == 4000


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 23, 9, 30, 0, 123456, tzinfo=UTC), "2026-11-23T09:30:00.123Z"),
        (datetime(2026, 11, 23, 9, 30, 0, 999999, tzinfo=UTC), "2026-11-23T09:30:00.999Z"),
        (datetime(2026, 11, 23, 9, 30, 1, 0, tzinfo=UTC), "2026-11-23T09:30:01.000Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC), "2026-01-02T03:04:05.006Z"),
        # Another zone is converted; so is a zero offset that is not the UTC object.
        (
            datetime(2026, 11, 23, 10, 30, 0, 5000, tzinfo=timezone(timedelta(hours=1))),
            "2026-11-23T09:30:00.005Z",
        ),
        (
            datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=timezone(timedelta(0))),
            "1999-12-31T23:59:59.999Z",
        ),
    ],
)
def test_timestamps_read_as_clients_expect(moment: datetime, text: str) -> None:
    assert isoformat(moment) == text
    # Again, now that its second is the one remembered, and after another second.
    assert isoformat(moment) == text
    isoformat(moment + timedelta(seconds=1))
    assert isoformat(moment) == text


def test_pooled_id_characters_are_never_handed_out_twice_and_stay_in_the_alphabet() -> None:
    chars = IdChars()
    with ThreadPoolExecutor(4) as pool:
        pieces = list(pool.map(lambda _: chars(24), range(3000)))
    pieces += [chars(RandomBytes.CHUNK + 10)]  # longer than a refill
    assert len(pieces[-1]) == RandomBytes.CHUNK + 10
    assert len(set(pieces)) == len(pieces)
    assert set("".join(pieces)) == ALPHABET
