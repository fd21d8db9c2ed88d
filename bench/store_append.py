"""Appending one message must cost the same with 100 or 10,000 messages already stored.

Two persistent stores, pre-filled with 100 and 10,000 messages, take single-message appends
in alternation (so drift in machine load hits both alike); the medians must be within
`TARGET_RATIO` of each other.

A turn as the engine stores it (a new thread and two messages in one `store_turn`): what it
costs, in memory and on disk, and how many objects it leaves for the garbage collector to
track. Each tracked object makes every full collection longer, and under load those pauses
are what the p99 latency is made of (issue 10).
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Row
from emulator.core.records import MessageRecord, ThreadRecord
from emulator.core.store import TinyStore

SMALL, LARGE = 100, 10_000
ROUNDS = 500
BATCH = 100
TARGET_RATIO = 1.5
EXTRA = {"model": "gpt-4o", "usage": {"inputTokens": 12, "outputTokens": 48}, "sources": []}
TURNS = 2_000  # per timed batch, and counted for the GC figure
BATCHES = 5
# Stored documents are Raw bytes in dicts the collector never tracks, and a short thread's
# message ids are packed bytes: a stored turn should leave nothing to track.
TARGET_TRACKED = 0.1
TARGET_PAUSE_MS = 5
PAUSE_TURNS = 50_000  # 100,000 messages, as in the RSS figure of `bench.turns`


def _message(n: int) -> MessageRecord:
    content = f"message {n}: " + "lorem ipsum dolor sit amet " * 8
    return MessageRecord(
        f"msg_{n:08d}", "thr_bench", "user" if n % 2 == 0 else "assistant", content, "t", EXTRA
    )


def _filled(directory: Path, count: int) -> TinyStore:
    store = TinyStore(directory)
    store.create_thread(ThreadRecord("thr_bench", "bench", "interlocute", "2024-05-01T10:00:00Z"))
    for start in range(0, count, BATCH):
        store.append_messages([_message(n) for n in range(start, min(start + BATCH, count))])
    return store


def _time_append(store: TinyStore, n: int) -> float:
    message = _message(n)  # built outside the timed region
    started = time.perf_counter_ns()
    store.append_messages([message])
    return (time.perf_counter_ns() - started) / 1000


def _turn(n: int) -> tuple[ThreadRecord, list[MessageRecord]]:
    """A new thread and its first turn, with the extras `engine._records` gives them."""
    thread = ThreadRecord(f"thr_{n:08d}", "bench", "interlocute", "2024-05-01T10:00:00Z")
    common = {"requestId": f"req_{n:08d}"}
    created = thread.created_at
    user = MessageRecord(f"msg_{n:08d}u", thread.id, "user", "hi", created, common | {"tokens": 2})
    extra = {"model": "echo", "tokens": 4, "traceId": f"{n:032x}", "rule": None, "sources": ["kb"]}
    reply = MessageRecord(
        f"msg_{n:08d}a", thread.id, "assistant", "hello there", created, common | extra
    )
    return thread, [user, reply]


def _tracked_per_turn(store: TinyStore, start: int) -> float:
    """GC-tracked objects more per stored turn (the records are built and dropped as it goes)."""
    gc.collect()
    before = len(gc.get_objects())
    for n in range(start, start + TURNS):
        store.store_turn(*_turn(n))
    gc.collect()
    return (len(gc.get_objects()) - before) / TURNS


def _turn_us(store: TinyStore, start: int) -> float:
    """Median over batches of the mean time of one `store_turn`, records built beforehand."""
    means = []
    for batch in range(BATCHES):
        turns = [_turn(start + batch * TURNS + n) for n in range(TURNS)]
        started = time.perf_counter_ns()
        for thread, messages in turns:
            store.store_turn(thread, messages)
        means.append((time.perf_counter_ns() - started) / 1000 / TURNS)
    return statistics.median(means)


def _full_collection_ms(store: TinyStore, start: int) -> float:
    """How long a full (generation 2) collection takes once the store holds `PAUSE_TURNS`
    turns: the pause every request waits for when one runs during a load test."""
    for n in range(start, start + PAUSE_TURNS):
        store.store_turn(*_turn(n))
    pauses = []
    for _ in range(5):
        started = time.perf_counter_ns()
        gc.collect()
        pauses.append((time.perf_counter_ns() - started) / 1e6)
    return min(pauses)


def _turn_rows(directory: Path) -> list[Row]:
    memory = TinyStore.memory()
    tracked = _tracked_per_turn(memory, 0)
    in_memory = _turn_us(memory, TURNS)
    memory.close()
    memory = TinyStore.memory()
    pause_ms = _full_collection_ms(memory, 0)
    memory.close()
    with TinyStore(directory) as disk:
        on_disk = _turn_us(disk, 0)
    return [
        Row(
            "store: GC-tracked objects per stored turn",
            f"{tracked:.1f}",
            f"<= {TARGET_TRACKED}",
            tracked <= TARGET_TRACKED,
        ),
        Row(
            "store: store_turn (thread + 2 messages), memory / disk",
            f"{in_memory:.0f} / {on_disk:.0f} µs",
        ),
        Row(
            f"store: full GC pause, {2 * PAUSE_TURNS:,} messages stored",
            f"{pause_ms:.1f} ms",
            f"<= {TARGET_PAUSE_MS} ms",
            pause_ms <= TARGET_PAUSE_MS,
        ),
    ]


def measure() -> list[Row]:
    """Both medians (µs), their ratio against its target, the time to reopen, and a turn's
    cost and GC-tracked objects."""
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        small = _filled(Path(tmp) / "small", SMALL)
        large = _filled(Path(tmp) / "large", LARGE)
        times: dict[int, list[float]] = {SMALL: [], LARGE: []}
        for r in range(ROUNDS):
            order = [(SMALL, small), (LARGE, large)]
            for size, store in order if r % 2 else order[::-1]:
                times[size].append(_time_append(store, size + r))
        small.close()
        large.close()
        started = time.perf_counter()
        TinyStore(Path(tmp) / "large").close()
        reopen_ms = (time.perf_counter() - started) * 1000
        turn_rows = _turn_rows(Path(tmp) / "turns")

    median_small = statistics.median(times[SMALL])
    median_large = statistics.median(times[LARGE])
    ratio = median_large / median_small
    return [
        Row(
            f"store: append 1 message, {LARGE:,} vs {SMALL} stored",
            f"{ratio:.2f} x ({median_large:.0f} vs {median_small:.0f} µs)",
            f"<= {TARGET_RATIO} x",
            ratio <= TARGET_RATIO,
        ),
        Row(f"store: reopen with {LARGE + ROUNDS:,} messages", f"{reopen_ms:.0f} ms"),
        *turn_rows,
    ]


def main() -> bool:
    from bench.report import table

    rows = measure()
    print(table(rows))
    return all(r.ok is not False for r in rows)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
