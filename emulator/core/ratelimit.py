"""`rate_limit`: a token bucket per node and credential, driven by the engine's clock.

A bucket holds up to `requests` tokens and refills at `requests / per_seconds` tokens a second;
it starts full. Requests without a credential (anonymous nodes) share one bucket per node.
Buckets are keyed by the limit itself too, so a reload that changes a node's limit starts
fresh buckets while an unchanged limit keeps counting.
"""

from __future__ import annotations

import math

import msgspec

from emulator.config.model import Node, RateLimit
from emulator.core.errors import RateLimited

# Float rounding must not refuse a request whose token is due this very instant.
EPSILON = 1e-9
MAX_BUCKETS = 10_000  # past this, full (idle) buckets are forgotten


class Quota(msgspec.Struct, frozen=True):
    """What `X-RateLimit-*` say: the bucket's size, the requests left in it now, and the whole
    seconds until it is full again."""

    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class Bucket(msgspec.Struct):
    tokens: float
    updated: float  # monotonic seconds


class RateLimiter:
    """Admits or refuses requests; state lives in memory and is lost on restart."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str | None, RateLimit], Bucket] = {}

    def admit(
        self, node: Node, credential: str | None, now: float, limit: RateLimit | None = None
    ) -> None:
        """Take one token from the caller's bucket, or raise RateLimited with the whole
        seconds (at least 1) until a token is available. `limit`: instead of the node's."""
        limit = limit or node.rate_limit
        if limit is None:
            return
        key = (node.alias, credential, limit)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[key] = Bucket(float(limit.requests), now)
        rate = limit.requests / limit.per_seconds
        bucket.tokens = min(limit.requests, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens + EPSILON >= 1:
            bucket.tokens = max(0.0, bucket.tokens - 1)
            return
        wait = (1 - bucket.tokens) / rate
        raise RateLimited("Rate limit exceeded", retry_after=max(1, math.ceil(wait - EPSILON)))

    def quota(self, alias: str, credential: str | None, limit: RateLimit, now: float) -> Quota:
        """The caller's bucket as it stands, without taking from it."""
        bucket = self._buckets.get((alias, credential, limit))
        rate = limit.requests / limit.per_seconds
        tokens = float(limit.requests)
        if bucket is not None:
            tokens = min(limit.requests, bucket.tokens + (now - bucket.updated) * rate)
        remaining = max(0, math.floor(tokens + EPSILON))
        full_in = max(0, math.ceil((limit.requests - tokens) / rate - EPSILON))
        return Quota(limit.requests, remaining, full_in)

    def reset(self) -> None:
        self._buckets.clear()

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < MAX_BUCKETS:
            return
        for key, bucket in list(self._buckets.items()):
            limit = key[2]
            refill = (now - bucket.updated) * limit.requests / limit.per_seconds
            if bucket.tokens + refill >= limit.requests:
                del self._buckets[key]
