"""Bounds: memory stays flat over 50,000 requests that leave the thread count the same.

Through the engine and a real (directory) store, in process, for speed: new conversations
with idempotency keys whose oldest thread is deleted as each is made, retries of those keys,
and turns on unknown threads (refused). Nothing but the fixed set of threads may stay behind:
not the idempotency records of deleted threads, not index entries, not journal history
(compaction keeps the files small too).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections import deque
from pathlib import Path

import pytest

from emulator.config.loader import parse_config
from emulator.core.engine import Engine, TurnRequest
from emulator.core.errors import ThreadNotFound
from emulator.core.store import TinyStore

CONFIG = "version: 1\nnodes:\n  a: {api: interlocute, model: echo, auth: {anonymous: true}}\n"
REQUESTS = 50_000
THREADS = 20
# Generous: a leak of even a few objects per stored turn would be 100,000s of blocks.
BOUND_BLOCKS = 25_000


def test_memory_stays_flat_over_50000_requests(tmp_path: Path) -> None:
    config = parse_config(CONFIG, "nodes.yaml")
    node = config.nodes["a"]
    store = TinyStore(tmp_path, compact_min_bytes=64 * 1024)
    engine = Engine(config, store, seed=1)
    threads: deque[str] = deque()

    def request(n: int) -> None:
        kind = n % 10
        key = f"key-{n - kind}"
        if kind == 0:  # a new conversation; the oldest one goes
            turn = engine.start_turn(node, TurnRequest(f"hi {n}", idempotency_key=key))
            threads.append(turn.thread_id)
            if len(threads) > THREADS:
                assert store.delete_thread(threads.popleft())
        elif kind < 8:  # a client's retries: answered from the idempotency record
            assert engine.start_turn(node, TurnRequest(f"hi {n - kind}", idempotency_key=key))
        else:
            with pytest.raises(ThreadNotFound):
                engine.start_turn(node, TurnRequest("hi", thread_id=f"thr_gone{n}"))

    for n in range(REQUESTS // 10):  # warm up: caches, a compaction or two
        request(n)
    gc.collect()
    before = sys.getallocatedblocks()
    for n in range(REQUESTS // 10, REQUESTS):
        request(n)
    # A compaction keeps the journal's lines appended while it runs, as many as the machine's
    # load lets through: let it finish, then one more conversation compacts again if that
    # left more than the threshold, with nothing appended meanwhile. What stays shows whether
    # the journal's history is dropped, whatever the machine's speed.
    for running in threading.enumerate():
        if running.name == "store-compaction":
            running.join()
    request(REQUESTS)
    store.close()  # waits for a compaction still running
    gc.collect()
    grown = sys.getallocatedblocks() - before
    assert grown < BOUND_BLOCKS, f"{grown} memory blocks more after {REQUESTS} requests"
    assert (tmp_path / "threads.journal").stat().st_size < 1 << 20
