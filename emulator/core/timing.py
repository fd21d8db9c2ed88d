"""Latency: how long to wait before each token."""

from __future__ import annotations

import random

from emulator.config.model import Latency


def token_delays(latency: Latency, count: int, rng: random.Random) -> list[float]:
    """Seconds to wait before each of `count` tokens: time to first token, then a steady rate.
    `jitter` scales each delay by a seeded factor in [1 - jitter, 1 + jitter]."""
    if count == 0:
        return []
    per_token = 1.0 / latency.tokens_per_second if latency.tokens_per_second > 0 else 0.0
    delays = [latency.first_token_ms / 1000.0] + [per_token] * (count - 1)
    if latency.jitter <= 0:
        return delays
    return [d * rng.uniform(1 - latency.jitter, 1 + latency.jitter) for d in delays]
