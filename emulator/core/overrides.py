"""Runtime overrides: a node's faults, latency and rate limit changed without editing nodes.yaml.

Set through `PUT /_emulator/nodes/{alias}/overrides` (and the pytest plugin). They are layered
over the node's own settings on each request: override faults are tried before the node's own,
and an override latency or rate limit replaces the node's. They live in memory, are cleared by
`POST /_emulator/reset`, and are kept across config reloads while the node exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from emulator.config.model import Fault, Latency, Matcher, Node, RateLimit


class Override(msgspec.Struct, frozen=True):
    """One node's overrides; None (or no faults) leaves the node's own setting in force."""

    faults: tuple[Fault, ...] = ()
    latency: Latency | None = None
    rate_limit: RateLimit | None = None

    def to_dict(self) -> dict[str, Any]:
        latency = self.latency
        limit = self.rate_limit
        return {
            "faults": [_fault(f) for f in self.faults],
            "latency": None
            if latency is None
            else {
                "first_token_ms": latency.first_token_ms,
                "tokens_per_second": latency.tokens_per_second,
                "jitter": latency.jitter,
                "delay_ms": latency.delay_ms,
            },
            "rate_limit": None
            if limit is None
            else {"requests": limit.requests, "per_seconds": limit.per_seconds},
        }


NO_OVERRIDE = Override()


class Overrides:
    """The overrides of every node, by alias."""

    def __init__(self) -> None:
        self._by_alias: dict[str, Override] = {}

    def get(self, alias: str) -> Override:
        return self._by_alias.get(alias, NO_OVERRIDE)

    def set(self, alias: str, override: Override) -> None:
        if override == NO_OVERRIDE:
            self._by_alias.pop(alias, None)
        else:
            self._by_alias[alias] = override

    def clear(self, alias: str | None = None) -> None:
        """Forget one node's overrides, or (no alias) everyone's."""
        if alias is None:
            self._by_alias.clear()
        else:
            self._by_alias.pop(alias, None)

    def retain(self, aliases: Iterable[str]) -> None:
        """Keep only the overrides of these nodes (after a reload removed some)."""
        kept = set(aliases)
        for alias in [a for a in self._by_alias if a not in kept]:
            del self._by_alias[alias]

    def faults(self, node: Node) -> tuple[Fault, ...]:
        found = self._by_alias.get(node.alias)
        return found.faults if found is not None else ()

    def latency(self, node: Node) -> Latency:
        found = self._by_alias.get(node.alias)
        return found.latency if found is not None and found.latency is not None else node.latency

    def rate_limit(self, node: Node) -> RateLimit | None:
        found = self._by_alias.get(node.alias)
        if found is not None and found.rate_limit is not None:
            return found.rate_limit
        return node.rate_limit


def _fault(fault: Fault) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: getattr(fault, key)
        for key in (
            "status",
            "retry_after",
            "stream_error_after",
            "disconnect_after",
            "times",
            "rate",
            "message",
        )
        if getattr(fault, key) is not None
    }
    if fault.when is not None:
        data["when"] = _matcher(fault.when)
    return data


def _matcher(when: Matcher) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if when.contains is not None:
        data["contains"] = when.contains
    if when.equals is not None:
        data["equals"] = when.equals
    if when.regex is not None:
        data["regex"] = when.regex.pattern
    if when.turn is not None:
        data["turn"] = when.turn
    if when.any:
        data["any"] = True
    return data
