"""Ids: their shape, their spread, and exact repetition under a seed."""

from __future__ import annotations

import string
from collections import Counter

from emulator.core.seams import Ids

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
