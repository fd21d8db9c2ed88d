"""Appending one message must cost the same with 100 or 10,000 messages already stored.

Two persistent stores, pre-filled with 100 and 10,000 messages, take single-message appends
in alternation (so drift in machine load hits both alike); the medians must be within
`TARGET_RATIO` of each other.
"""

from __future__ import annotations

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


def measure() -> list[Row]:
    """Both medians (µs), their ratio against its target, and the time to reopen."""
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
    ]


def main() -> bool:
    from bench.report import table

    rows = measure()
    print(table(rows))
    return all(r.ok is not False for r in rows)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
