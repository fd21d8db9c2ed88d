"""A burst of requests begins a slice per turn of the event loop, first come first begun, and
timers due meanwhile (a stream's next token, a health check) run between the slices."""

from __future__ import annotations

import asyncio
import time

from emulator.admission import Admission


def burst(count: int, per_turn: int, work_s: float = 0.0) -> tuple[list[tuple[int, int]], int]:
    """(request, loop turn) for each request as it began, and how many had begun when a timer
    due 5 ms after the burst arrived ran."""

    async def main() -> tuple[list[tuple[int, int]], int]:
        loop = asyncio.get_running_loop()
        admission = Admission(per_turn)
        turn = 0

        def tick() -> None:
            nonlocal turn
            turn += 1
            loop.call_soon(tick)

        loop.call_soon(tick)
        begun: list[tuple[int, int]] = []
        timer_saw: list[int] = []
        loop.call_later(0.005, lambda: timer_saw.append(len(begun)))

        async def request(number: int) -> None:
            await admission.enter()
            begun.append((number, turn))
            time.sleep(work_s)  # the request's own work, holding the loop

        await asyncio.gather(*(request(n) for n in range(count)))
        await asyncio.sleep(0.01)
        return begun, timer_saw[0]

    return asyncio.run(main())


def test_at_most_per_turn_requests_begin_in_one_turn_in_arrival_order() -> None:
    begun, _ = burst(100, per_turn=32)
    assert [number for number, _ in begun] == list(range(100))
    per_turn: dict[int, int] = {}
    for _, turn in begun:
        per_turn[turn] = per_turn.get(turn, 0) + 1
    assert sorted(per_turn.values(), reverse=True) == [32, 32, 32, 4]


def test_a_timer_due_during_a_burst_runs_before_the_burst_is_through() -> None:
    # 200 requests of 0.2 ms each hold the loop 40 ms in all; the timer due at 5 ms runs
    # after a slice or two, not after all of them.
    _, seen_by_timer = burst(200, per_turn=8, work_s=0.0002)
    assert seen_by_timer < 200
    _, without_slices = burst(200, per_turn=1000, work_s=0.0002)
    assert without_slices == 200


def test_a_new_event_loop_starts_with_a_fresh_count() -> None:
    admission = Admission(2)

    async def begin(times: int) -> None:
        for _ in range(times):
            await admission.enter()

    asyncio.run(begin(2))  # this loop ends before its next turn would reset the count
    asyncio.run(asyncio.wait_for(begin(2), timeout=1))  # no wait for a turn that never comes
