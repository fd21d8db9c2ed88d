"""Small seams for time and randomness, so tests swap them without patching."""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
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
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_ALPHABET = string.ascii_lowercase + string.digits


class Ids:
    """Id factory. With a seed, the sequence of ids repeats exactly from run to run."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed) if seed is not None else secrets.SystemRandom()

    def new(self, prefix: str, length: int = 24) -> str:
        return prefix + "".join(self._random.choice(_ALPHABET) for _ in range(length))


def stable_seed(*parts: object) -> int:
    """A seed derived from values, identical across processes (unlike `hash()`)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")
