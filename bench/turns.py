"""Chat turns per second through the whole stack, as ratios to the bare app in the same run.

Three servers run side by side: the bare Litestar app (`bench.bare`), `emulator serve
--memory` and `emulator serve` with its on-disk store. Each round drives every scenario for
`SECONDS` with `load.CONNECTIONS` connections, right after driving the bare app for as long;
a scenario's figure is the median over `ROUNDS` rounds of its rate divided by the bare rate
just before it, so drift in the machine's load hits both sides of each ratio alike.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import load
from bench.report import Row
from bench.servers import Server, bare_command, emulator_command, fetch, running, wait_for_200

ROUNDS = 5  # more, shorter pairs: a shared machine moves single runs by a tenth or more
SECONDS = 2.0
WARMUP_S = 1.0
MESSAGE = "What are your opening hours on weekdays, and where is order ORD-1234?"

CONFIG = """\
version: 1
nodes:
  bench:
    api: interlocute
    model: {kind: echo, template: "You said: {message}"}
    auth: {api_keys: [sk-bench]}
  replayed:
    api: widget
    model: {kind: replay, fixture: bench}
    auth: {api_keys: [wk-bench]}
"""
FIXTURE = f"""\
conversations:
  - turns:
      - message: "{MESSAGE}"
        reply: We are open 9 to 5 on weekdays, and order ORD-1234 ships today from Leeds.
"""

CHAT_BODY = json.dumps({"content": MESSAGE}).encode()
AUTH = ("Authorization", "Bearer sk-bench")
BARE = load.Request("POST", "/chat", CHAT_BODY)
JSON_TURN = load.Request("POST", "/nodes/bench/chat", CHAT_BODY, (AUTH,))
SSE_TURN = load.Request(
    "POST", "/nodes/bench/chat/stream", CHAT_BODY, (AUTH, ("Accept", "text/event-stream"))
)
NDJSON_TURN = load.Request(
    "POST", "/nodes/bench/chat/stream", CHAT_BODY, (AUTH, ("Accept", "application/x-ndjson"))
)
WIDGET_TURN = load.Request(
    "POST",
    "/nodes/replayed/v1/chat/stream",
    json.dumps({"sessionId": "s{n}", "message": MESSAGE}).encode(),
    (("x-api-key", "wk-bench"),),
    numbered=True,
)


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str  # "bare" | "memory" | "disk"
    request: load.Request
    target: float | None  # minimum ratio to the bare app
    expect: bytes  # in the body of a correct answer


SCENARIOS = [
    Scenario("bare Litestar app, JSON", "bare", BARE, None, b"You said"),
    Scenario("JSON chat turn, --memory", "memory", JSON_TURN, 0.6, b'"content":"You said'),
    Scenario("JSON chat turn, on-disk store", "disk", JSON_TURN, 0.5, b'"content":"You said'),
    Scenario("SSE stream turn, 19 tokens", "memory", SSE_TURN, 0.3, b"event: done"),
    Scenario("NDJSON stream turn, 19 tokens", "memory", NDJSON_TURN, None, b'"type":"done"'),
    Scenario("widget replay turn, NDJSON", "memory", WIDGET_TURN, None, b'"type":"done"'),
]


def _check(server: Server, scenario: Scenario) -> None:
    """One request answered correctly before any timing (a fast 4xx would flatter us)."""
    request = scenario.request.with_number(0) if scenario.request.numbered else scenario.request
    raw = request.encoded().replace(b"Host: 127.0.0.1", b"Host: 127.0.0.1\r\nConnection: close")
    wait_for_200(server, raw)  # raises unless 200
    _, answer = fetch(server.port, raw)
    if scenario.expect not in answer:
        raise RuntimeError(f"{scenario.name}: unexpected answer {answer[:400]!r}")


def measure() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        root = Path(tmp)
        (root / "nodes.yaml").write_text(CONFIG)
        (root / "fixtures").mkdir()
        (root / "fixtures" / "bench.yaml").write_text(FIXTURE)
        memory_cmd = emulator_command(root / "nodes.yaml", "--memory", "--no-reload")
        disk_cmd = emulator_command(root / "nodes.yaml", "--data", str(root / "data"))
        with (
            running(bare_command()) as bare,
            running(memory_cmd, cwd=root) as memory,
            running(disk_cmd, cwd=root) as disk,
        ):
            servers = {"bare": bare, "memory": memory, "disk": disk}
            for scenario in SCENARIOS:
                _check(servers[scenario.server], scenario)
                load.run(servers[scenario.server].port, scenario.request, WARMUP_S)
            # Each scenario's run is paired with a bare run just before it.
            runs: dict[str, list[tuple[load.Load, load.Load]]] = {s.name: [] for s in SCENARIOS}
            for _ in range(ROUNDS):
                for scenario in SCENARIOS[1:]:
                    bare_load = load.run(bare.port, BARE, SECONDS)
                    port = servers[scenario.server].port
                    mine = load.run(port, scenario.request, SECONDS)
                    runs[scenario.name].append((mine, bare_load))
    return _rows(runs)


def _rows(runs: dict[str, list[tuple[load.Load, load.Load]]]) -> list[Row]:
    every_bare = [b for pairs in runs.values() for _, b in pairs]
    bare_rate = statistics.median(b.rate for b in every_bare)
    rows = [Row(f"{SCENARIOS[0].name} (the yardstick)", f"{bare_rate:,.0f} req/s")]
    for scenario in SCENARIOS[1:]:
        pairs = runs[scenario.name]
        mine = [m for m, _ in pairs]
        ratio = statistics.median(m.rate / b.rate for m, b in pairs)
        rate = statistics.median(m.rate for m in mine)
        errors = sum(m.errors for m in mine)
        ok = None if scenario.target is None else ratio >= scenario.target and not errors
        target = "" if scenario.target is None else f">= {scenario.target} x bare"
        value = f"{ratio:.2f} x ({rate:,.0f}/s)" + (f" {errors} ERRORS" if errors else "")
        rows.append(Row(scenario.name, value, target, ok))
    json_turns = runs[SCENARIOS[1].name]
    for name, pick in (("p50", lambda x: x.p50_ms), ("p99", lambda x: x.p99_ms)):
        bare_ms = statistics.median(pick(b) for _, b in json_turns)
        ours = statistics.median(pick(m) for m, _ in json_turns)
        ratio = statistics.median(pick(m) / pick(b) for m, b in json_turns)
        check = (ratio <= 3.0) if name == "p99" else None
        rows.append(
            Row(
                f"{name} latency, JSON turn, {load.CONNECTIONS} conns",
                f"{ratio:.2f} x ({ours:.1f} vs {bare_ms:.1f} ms)",
                "<= 3 x bare" if name == "p99" else "",
                check,
            )
        )
    return rows
