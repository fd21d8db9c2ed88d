"""Event-loop responsiveness, as a second client sees it: GET /_emulator/health latencies
measured on a thread while an attack runs against the same server."""

from __future__ import annotations

import statistics
import threading
import time
from types import TracebackType

import httpx

PROBE_TIMEOUT_S = 5.0  # a probe stuck this long has certainly failed; it is recorded as such


class HealthProbe:
    """Probes health every `interval` seconds from its own connection until stopped.

    Use as a context manager around the attack; then `assert_responsive()`.
    """

    def __init__(self, url: str, *, interval: float = 0.02) -> None:
        self.url = f"{url}/_emulator/health"
        self.interval = interval
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        # The client (its SSL context, lazy imports) and its connection are made, and warmed
        # by one request, before the attack: only the server's latency is measured.
        self._client = httpx.Client(timeout=PROBE_TIMEOUT_S)
        self._client.get(self.url).raise_for_status()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=PROBE_TIMEOUT_S + 1)
        self._client.close()

    def _run(self) -> None:
        client = self._client
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                status = client.get(self.url).status_code
            except httpx.HTTPError as exc:
                self.failures.append(type(exc).__name__)
                self.latencies.append(time.perf_counter() - started)
            else:
                self.latencies.append(time.perf_counter() - started)
                if status != 200:
                    self.failures.append(f"status {status}")
            self._stop.wait(self.interval)

    def summary(self) -> str:
        ms = sorted(round(x * 1000, 1) for x in self.latencies)
        median = statistics.median(ms) if ms else None
        return f"{len(ms)} probes, median {median} ms, the worst {ms[-5:]} ms"

    def assert_responsive(self, *, median: float = 0.1, worst: float = 1.0) -> None:
        """Generous bounds for a busy 2-core machine: the median under 100 ms, none over 1 s."""
        assert len(self.latencies) >= 5, self.summary()
        assert not self.failures, (self.failures, self.summary())
        assert statistics.median(self.latencies) < median, self.summary()
        assert max(self.latencies) < worst, self.summary()
