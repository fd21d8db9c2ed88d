"""Hot reload latency: from writing nodes.yaml to the first request that answers with it.

A real `emulator serve` (reload on, in-memory store) on a free port; each edit changes the
reply template, then one keep-alive client polls the node until the new reply comes back. The
median over `EDITS` edits must be under `TARGET_MS`.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.report import Row

EDITS = 30
TARGET_MS = 250.0
GIVE_UP_S = 5.0
LISTENING = re.compile(r"Listening on http://127\.0\.0\.1:(\d+)")

CONFIG = """\
version: 1
nodes:
  bench:
    api: interlocute
    name: Bench
    model: {{kind: echo, template: "rev{rev} {{message}}"}}
    auth: {{anonymous: true}}
"""


def _start(config: Path) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "emulator", "serve", "--config", str(config)]
    process = subprocess.Popen(
        [*command, "--port", "0", "--memory", "--log-level", "warning"],
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = LISTENING.search(line)
        if found:
            # Keep draining, or a full pipe would stall the server's logging.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, int(found.group(1))
    raise RuntimeError(f"the server exited with {process.wait()} before listening")


def _wait_for(client: httpx.Client, expected: str) -> None:
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        try:
            response = client.post("/nodes/bench/chat", json={"content": "ping"})
        except httpx.ConnectError:  # the banner comes just before uvicorn listens
            time.sleep(0.02)
            continue
        if response.status_code == 200 and response.json()["content"] == expected:
            return
    raise TimeoutError(f"no reply {expected!r} within {GIVE_UP_S} s")


def measure() -> list[Row]:
    """The median, p90 and worst latency (ms) from a saved edit to the first request that
    answers with it; the median against its target."""
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as tmp:
        config = Path(tmp) / "nodes.yaml"
        config.write_text(CONFIG.format(rev=0))
        process, port = _start(config)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                _wait_for(client, "rev0 ping")
                latencies = []
                for rev in range(1, EDITS + 1):
                    time.sleep(0.05)  # let the previous save's trailing events pass
                    started = time.perf_counter()
                    config.write_text(CONFIG.format(rev=rev))
                    _wait_for(client, f"rev{rev} ping")
                    latencies.append((time.perf_counter() - started) * 1000)
        finally:
            process.terminate()
            process.wait(timeout=10)
    median = statistics.median(latencies)
    p90 = statistics.quantiles(latencies, n=10)[-1]
    return [
        Row(
            f"hot reload, edit to first answer ({EDITS} edits)",
            f"{median:.0f} ms (p90 {p90:.0f}, worst {max(latencies):.0f})",
            f"median < {TARGET_MS:.0f} ms",
            median < TARGET_MS,
        )
    ]


def main() -> bool:
    from bench.report import table

    rows = measure()
    print(table(rows))
    return all(r.ok is not False for r in rows)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
