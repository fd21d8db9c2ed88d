"""How many requests begin their work in one turn of the event loop.

A request runs from its first byte to its first real wait (a stream's first token, a reply's
latency) without handing the event loop back: a few hundred microseconds. Two hundred
requests arriving at once would all run in the same turn of the loop, and every timer due
meanwhile (each open stream's next token, a health check) would wait for all of them: tens
of milliseconds late. `Admission` lets `per_turn` requests begin in each turn and has the rest
wait for the next one, so a burst is worked through a slice at a time while the due timers run
in between. Nothing is refused and the order is kept (first come, first begun).
"""

from __future__ import annotations

import asyncio

PER_TURN = 32


class Admission:
    """The gate at the start of every request (emulator/app.py's request layer)."""

    __slots__ = ("_begun", "_loop", "per_turn")

    def __init__(self, per_turn: int = PER_TURN) -> None:
        self.per_turn = per_turn
        self._begun = 0  # requests begun in the current turn of the loop
        self._loop: asyncio.AbstractEventLoop | None = None

    async def enter(self) -> None:
        """Return once this request may begin: at once, unless `per_turn` others already
        began in this turn of the loop."""
        while not self.take():
            await asyncio.sleep(0)  # behind everything ready now: the next turn

    def take(self) -> bool:
        """Begin now if this turn of the loop has room (the common case, without a coroutine:
        `if not admission.take(): await admission.enter()`); False if it has none."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another server's loop (tests run several in turn)
            self._loop, self._begun = loop, 0
        if self._begun >= self.per_turn:
            return False
        if self._begun == 0:
            # Runs first in the next turn: callbacks scheduled now go before the requests
            # that are about to wait with sleep(0).
            loop.call_soon(self._next_turn)
        self._begun += 1
        return True

    def _next_turn(self) -> None:
        self._begun = 0
