"""Ending open streams when the server stops.

uvicorn's graceful shutdown waits for every response to finish, and a stream of a slow node can
run for minutes; after its grace period it cancels them, and the client sees a broken transfer.
Instead, `stop_streams()` (run as the server starts shutting down) ends each open stream at
once with its API's own mid-stream error event: a stream waiting for its next event is woken by
a cancellation carrying STOP_MESSAGE, which becomes ServerStopping: `encode_stream` turns it into
that event, and the dispatcher into the API's error response for a reply not yet started.

The state is per event loop: each server (`emulator serve`, every `EmulatorServer` thread) runs
on its own loop and stops on its own.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable
from typing import NoReturn, TypeVar
from weakref import WeakKeyDictionary

import msgspec

from emulator.core.errors import ServerStopping

T = TypeVar("T")

STOP_MESSAGE = "The emulator is shutting down"


class Streams(msgspec.Struct):
    """The open streams of one server: whether it is stopping, and which tasks are waiting for
    their stream's next event (the only place a stream can be woken safely)."""

    stopping: bool = False
    waiting: set[asyncio.Task[object]] = msgspec.field(default_factory=set)

    def stopped_us(self, exc: asyncio.CancelledError) -> bool:
        """Whether a cancellation is stop_streams() waking a stream (not a client hang-up)."""
        return self.stopping and exc.args[:1] == (STOP_MESSAGE,)

    def woken(self, exc: asyncio.CancelledError) -> NoReturn:
        """Called with a cancellation a waiting task received: ServerStopping when it is
        stop_streams() waking it (the cancellation is then withdrawn), else `exc` again (a
        client hang-up, or uvicorn giving up: not ours to swallow)."""
        task = asyncio.current_task()
        if not self.stopped_us(exc) or task is None:
            raise exc
        task.uncancel()
        raise ServerStopping(STOP_MESSAGE) from None


_BY_LOOP: WeakKeyDictionary[asyncio.AbstractEventLoop, Streams] = WeakKeyDictionary()


def streams() -> Streams:
    """The running loop's streams."""
    global _last
    loop = asyncio.get_running_loop()
    last_loop, found = _last
    if last_loop is loop:  # nearly always: the weak dictionary makes a weakref per lookup
        return found
    state = _BY_LOOP.get(loop)
    if state is None:
        state = _BY_LOOP[loop] = Streams()
    _last = (loop, state)
    return state


_last: tuple[object, Streams] = (None, Streams())


async def next_or_stop(iterator: AsyncIterator[T], state: Streams | None = None) -> T:
    """The iterator's next item (StopAsyncIteration at its end), or ServerStopping when the
    server stops meanwhile: a stream's way of waiting that `stop_streams()` can wake."""
    return await unless_stopped(anext(iterator), state)


async def unless_stopped(awaitable: Awaitable[T], state: Streams | None = None) -> T:
    """`awaitable`'s result, or ServerStopping if the server stops first (a non-streaming reply
    waiting out its latency, a stream waiting for its next event)."""
    state = state or streams()
    task = asyncio.current_task()
    assert task is not None
    state.waiting.add(task)
    try:
        if state.stopping:
            raise ServerStopping(STOP_MESSAGE)
        return await awaitable
    except asyncio.CancelledError as exc:
        state.woken(exc)
    finally:
        state.waiting.discard(task)
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never awaited when the server was already stopping


def stop_streams() -> int:
    """Mark the running loop's server as stopping and wake every stream waiting for its next
    event; returns how many were woken. Streams busy elsewhere see the mark at their next event."""
    state = streams()
    state.stopping = True
    waiting = list(state.waiting)
    for task in waiting:
        task.cancel(STOP_MESSAGE)
    return len(waiting)
