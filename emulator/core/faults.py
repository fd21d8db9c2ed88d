"""`faults`: which configured fault, if any, a turn runs into.

Faults are tried in config order; the first whose `when` holds (same matchers as rules, on the
user's message and the turn number) and whose trigger fires applies. Triggers: `rate` (a seeded
probability), `times` (the first N matching requests), or neither (always).

Counters and random streams are kept per (node alias, fault index, fault): a reload that edits
a fault starts it afresh, one that leaves it alone keeps counting. `reset()` forgets them all.
"""

from __future__ import annotations

import random
from http import HTTPStatus
from typing import Literal

import msgspec

from emulator.config.model import Fault, Node
from emulator.core.errors import InjectedFault
from emulator.core.models import match
from emulator.core.seams import stable_seed

InterruptionKind = Literal["stream_error", "disconnect"]

STREAM_ERROR_MESSAGE = "Internal server error"
DISCONNECT_MESSAGE = "The upstream connection closed before the reply was complete"


class Interruption(msgspec.Struct, frozen=True):
    """A reply cut short after `after` tokens: by the API's error event, or by hanging up."""

    kind: InterruptionKind
    after: int
    message: str


FaultKey = tuple[str, int, Fault]
OVERRIDDEN = "\x00override"  # suffix of an alias in the keys of its runtime override faults


class FaultInjector:
    """Decides faults. With a seed, `rate` faults fire in the same sequence from run to run."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._counts: dict[FaultKey, int] = {}
        self._randoms: dict[FaultKey, random.Random] = {}

    def pick(
        self, node: Node, message: str, turn: int, overrides: tuple[Fault, ...] = ()
    ) -> Fault | None:
        """The first fault that applies: the runtime `overrides` first, then the node's own.
        Each list counts on its own, so setting overrides does not restart the node's."""
        for alias, faults in ((node.alias + OVERRIDDEN, overrides), (node.alias, node.faults)):
            for index, fault in enumerate(faults):
                if fault.when is not None and match(fault.when, message, turn) is False:
                    continue
                if self._fires((alias, index, fault)):
                    return fault
        return None

    def reset(self) -> None:
        self._counts.clear()
        self._randoms.clear()

    def forget_overrides(self, alias: str) -> None:
        """Start a node's override faults afresh (they were replaced or cleared)."""
        key = alias + OVERRIDDEN
        for table in (self._counts, self._randoms):
            for stale in [k for k in table if k[0] == key]:
                del table[stale]

    def _fires(self, key: FaultKey) -> bool:
        fault = key[2]
        if fault.times is not None:
            count = self._counts.get(key, 0)
            if count >= fault.times:
                return False
            self._counts[key] = count + 1
            return True
        if fault.rate is not None:
            return self._random(key).random() < fault.rate
        return True

    def _random(self, key: FaultKey) -> random.Random:
        found = self._randoms.get(key)
        if found is None:
            seed = stable_seed(self._seed, key[0], key[1]) if self._seed is not None else None
            found = self._randoms[key] = random.Random(seed)
        return found


def refuse(fault: Fault) -> None:
    """A `status` fault: raised before anything is stored or sent."""
    if fault.status is None:
        return
    retry_after = fault.retry_after
    if fault.status == 429 and retry_after is None:
        retry_after = 1  # looks like the API's own rate limit, which always says when
    message = fault.message or _status_message(fault.status)
    raise InjectedFault(message, status=fault.status, retry_after=retry_after)


def interruption(fault: Fault | None) -> Interruption | None:
    if fault is None:
        return None
    if fault.stream_error_after is not None:
        message = fault.message or STREAM_ERROR_MESSAGE
        return Interruption("stream_error", fault.stream_error_after, message)
    if fault.disconnect_after is not None:
        message = fault.message or DISCONNECT_MESSAGE
        return Interruption("disconnect", fault.disconnect_after, message)
    return None


def _status_message(status: int) -> str:
    if status == 429:
        return "Rate limit exceeded"
    if status == 500:
        return STREAM_ERROR_MESSAGE  # as the seeds spell it, and as a stream fault says it
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Injected fault (HTTP {status})"
