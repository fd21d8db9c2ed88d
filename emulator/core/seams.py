"""Small seams for time and randomness, so tests swap them without patching."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import string
import threading
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
    if moment.tzinfo is not UTC:  # the system clock's is UTC already
        moment = moment.astimezone(UTC)
    global _second
    key, prefix = _second
    now = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    if now != key:  # a turn stamps three times: the date and time are formatted once a second
        prefix = moment.strftime("%Y-%m-%dT%H:%M:%S.")
        _second = (now, prefix)  # one assignment: a thread never sees half of it
    return f"{prefix}{moment.microsecond // 1000:03d}Z"


_second: tuple[tuple[int, ...], str] = ((), "")


_ALPHABET = string.ascii_lowercase + string.digits
# Each random byte maps to one character; bytes from 252 up are dropped so that every
# character stays equally likely (252 = 7 * 36).
_UNBIASED = len(_ALPHABET) * (256 // len(_ALPHABET))
_TO_CHAR = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_DROPPED = bytes(range(_UNBIASED, 256))


class RandomBytes:
    """The OS's random source, read 4 KiB at a time: one system call per hundred-odd ids
    instead of one per id (a chat turn makes five). Thread-safe: no two callers ever get
    the same bytes."""

    __slots__ = ("_at", "_buffer", "_lock")

    CHUNK = 4096

    def __init__(self) -> None:
        self._buffer = b""
        self._at = 0
        self._lock = threading.Lock()

    def __call__(self, count: int) -> bytes:
        with self._lock:
            at, end = self._at, self._at + count
            if end > len(self._buffer):
                self._buffer, at, end = os.urandom(max(self.CHUNK, count)), 0, count
            self._at = end
            return self._buffer[at:end]


random_bytes = RandomBytes()


class IdChars:
    """Id characters from the OS's random source, mapped to the alphabet a few KiB at a time
    (one `translate` and one decode per hundred-odd ids). Thread-safe like `RandomBytes`."""

    __slots__ = ("_at", "_chars", "_lock")

    def __init__(self) -> None:
        self._chars = ""
        self._at = 0
        self._lock = threading.Lock()

    def __call__(self, count: int) -> str:
        with self._lock:
            at, end = self._at, self._at + count
            while end > len(self._chars):
                fresh = random_bytes(max(RandomBytes.CHUNK, 2 * count))
                self._chars = fresh.translate(_TO_CHAR, _DROPPED).decode("ascii")
                at, end = 0, count
            self._at = end
            return self._chars[at:end]


id_chars = IdChars()


class Ids:
    """Id factory. With a seed, the sequence of ids repeats exactly from run to run.

    Unseeded, ids come from `id_chars`; seeded, one draw of the seeded generator per id.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._draw = random.Random(seed).randbytes if seed is not None else None

    def new(self, prefix: str, length: int = 24) -> str:
        if self._draw is None:
            return prefix + id_chars(length)
        chars = b""
        while len(chars) < length:  # a second draw is needed about once in 10,000 ids
            chars += self._draw(length + 4).translate(_TO_CHAR, _DROPPED)
        return prefix + chars[:length].decode("ascii")


def stable_seed(*parts: object) -> int:
    """A seed derived from values, identical across processes (unlike `hash()`)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")
