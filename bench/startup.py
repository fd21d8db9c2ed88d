"""Cold start to the first 200, idle RSS, and RSS holding 100,000 stored messages.

Cold start: `emulator serve` as `make run` starts it (on-disk store, reload on), from spawning
the process to the first 200 of a chat turn; the median of `STARTS` starts, each with a fresh
data directory. The bare app's cold start is measured the same way, for reference. Idle RSS is
read right after that first turn. For the 100,000 messages, a data directory is filled first
through the emulator's own engine (50,000 echo turns, one new thread each, as a load
generator makes them), then a server opens it and its RSS is read after its first turn.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from bench import turns
from bench.report import Row
from bench.servers import bare_command, emulator_command, http_request, running, wait_for_200

STARTS = 5
COLD_TARGET_S = 0.45
IDLE_TARGET_MB = 60.0
FULL_TARGET_MB = 250.0
MESSAGES = 100_000

TURN = http_request(
    "POST",
    "/nodes/bench/chat",
    json.dumps({"content": turns.MESSAGE}).encode(),
    {"Authorization": "Bearer sk-bench"},
)
BARE_TURN = http_request("POST", "/chat", json.dumps({"content": turns.MESSAGE}).encode())


def _fill(data: Path, config: Path) -> None:
    """MESSAGES stored messages, one turn per thread as a load generator makes them.

    The engine the server runs makes one turn; the rest are copies of it under new ids,
    stored through the store's own API in large batches (making each with the engine would
    take most of the benchmark's time budget).
    """
    from msgspec.structs import replace

    from emulator.config.loader import load_config
    from emulator.core.engine import Engine, TurnRequest
    from emulator.core.seams import Ids
    from emulator.core.store import TinyStore

    with TinyStore.memory() as made:
        engine = Engine(load_config(config), made, seed=1)
        turn = engine.start_turn(engine.config.nodes["bench"], TurnRequest(turns.MESSAGE))
        thread = made.get_thread(turn.thread_id)
        pair = made.messages(turn.thread_id)
    assert thread is not None
    ids = Ids(1)
    with TinyStore(data) as store:
        batch = []
        for _ in range(MESSAGES // len(pair)):
            copy = replace(thread, id=ids.new("thr_"))
            store.create_thread(copy)
            batch += [replace(m, id=ids.new("msg_"), thread_id=copy.id) for m in pair]
            if len(batch) >= 1000:
                store.append_messages(batch)
                batch = []
        if batch:
            store.append_messages(batch)


def measure() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        root = Path(tmp)
        config = root / "nodes.yaml"
        config.write_text(turns.CONFIG)
        cold, idle, bare_cold = [], [], []
        for n in range(STARTS):
            with running(bare_command()) as bare:
                bare_cold.append(wait_for_200(bare, BARE_TURN))
            command = emulator_command(config, "--data", str(root / f"data{n}"))
            with running(command, cwd=root) as server:
                cold.append(wait_for_200(server, TURN))
                idle.append(server.rss_mb())
        _fill(root / "full", config)
        with running(emulator_command(config, "--data", str(root / "full")), cwd=root) as server:
            wait_for_200(server, TURN)
            full = server.rss_mb()
    cold_s, idle_mb = statistics.median(cold), statistics.median(idle)
    return [
        Row(
            f"cold start to first 200 (median of {STARTS})",
            f"{cold_s:.2f} s (bare {statistics.median(bare_cold):.2f} s)",
            f"<= {COLD_TARGET_S} s",
            cold_s <= COLD_TARGET_S,
        ),
        Row(
            "idle RSS",
            f"{idle_mb:.0f} MB",
            f"<= {IDLE_TARGET_MB:.0f} MB",
            idle_mb <= IDLE_TARGET_MB,
        ),
        Row(
            f"RSS with {MESSAGES:,} stored messages",
            f"{full:.0f} MB",
            f"<= {FULL_TARGET_MB:.0f} MB",
            full <= FULL_TARGET_MB,
        ),
    ]
