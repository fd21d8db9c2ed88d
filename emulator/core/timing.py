"""Latency: how long to wait before each token."""

from __future__ import annotations

import random
from collections.abc import Iterable
from itertools import chain, repeat

from emulator.config.model import Latency


def token_delays(latency: Latency, count: int, rng: random.Random) -> Iterable[float]:
    """Seconds to wait before each of `count` tokens: time to first token, then a steady rate.
    `jitter` scales each delay by a seeded factor in [1 - jitter, 1 + jitter].

    Without jitter the delays are generated as they are read (a 340k-token reply needs no
    340k-item list); with it they are drawn at once, so concurrent turns draw in a fixed order.
    """
    if count == 0:
        return ()
    per_token = 1.0 / latency.tokens_per_second if latency.tokens_per_second > 0 else 0.0
    delays = chain((latency.first_token_ms / 1000.0,), repeat(per_token, count - 1))
    if latency.jitter <= 0:
        return delays
    return [d * rng.uniform(1 - latency.jitter, 1 + latency.jitter) for d in delays]
