"""The request log behind GET /_emulator/journal: the last N requests, in memory only.

Not to be confused with `journal.py`, the store's append-only file. An entry says what was asked
and how it was answered (method, path, status, timing, node), never the body, headers or
credentials, so the log is safe to show to anyone who can reach the control plane.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DEFAULT_CAPACITY = 500


@dataclass(frozen=True, slots=True)
class RequestEntry:
    """One answered request, recorded when its response started."""

    request_id: str
    at: str  # when the request arrived, ISO 8601 UTC
    method: str
    path: str  # without the query string
    status: int
    duration_ms: float  # arrival to response start: for a stream, its first byte
    node: str | None = None  # the resolved node's alias; None if no node was resolved
    api: str | None = None
    streaming: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "requestId": self.request_id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "durationMs": self.duration_ms,
            "node": self.node,
            "api": self.api,
            "streaming": self.streaming,
        }


class RequestLog:
    """A ring buffer of the last `capacity` entries; the oldest is dropped first.

    Used from the one event loop that serves requests, so it needs no lock.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("A request log holds at least one entry")
        self._entries: deque[RequestEntry] = deque(maxlen=capacity)

    @property
    def capacity(self) -> int:
        assert self._entries.maxlen is not None
        return self._entries.maxlen

    def record(self, entry: RequestEntry) -> None:
        self._entries.append(entry)

    def recent(self, limit: int | None = None, node: str | None = None) -> list[RequestEntry]:
        """The last `limit` entries (of `node`, if given), oldest first."""
        entries = [e for e in self._entries if node is None or e.node == node]
        if limit is None:
            return entries
        return entries[-limit:] if limit > 0 else []

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[RequestEntry]:
        return iter(self._entries)
