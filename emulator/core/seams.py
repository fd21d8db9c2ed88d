"""Small seams for time and randomness, so tests swap them without patching."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import string
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def isoformat(moment: datetime) -> str:
    """UTC timestamps as clients expect them: `2026-11-23T09:30:00.123Z`."""
    if moment.tzinfo is UTC:  # the system clock's: no conversion, and "+00:00" ends it
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_ALPHABET = string.ascii_lowercase + string.digits
# Each random byte maps to one character; bytes from 252 up are dropped so that every
# character stays equally likely (252 = 7 * 36).
_UNBIASED = len(_ALPHABET) * (256 // len(_ALPHABET))
_TO_CHAR = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_DROPPED = bytes(range(_UNBIASED, 256))


class Ids:
    """Id factory. With a seed, the sequence of ids repeats exactly from run to run.

    One draw of random bytes per id (the OS's random source, or the seeded generator),
    not one per character: ids are made on every turn.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._draw = random.Random(seed).randbytes if seed is not None else os.urandom

    def new(self, prefix: str, length: int = 24) -> str:
        chars = b""
        while len(chars) < length:  # a second draw is needed about once in 10,000 ids
            chars += self._draw(length + 4).translate(_TO_CHAR, _DROPPED)
        return prefix + chars[:length].decode("ascii")


def stable_seed(*parts: object) -> int:
    """A seed derived from values, identical across processes (unlike `hash()`)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")
