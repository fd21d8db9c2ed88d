"""The request log's ring buffer: capacity, order, filters."""

from __future__ import annotations

import pytest

from emulator.core.requestlog import RequestEntry, RequestLog


def entry(rid: str, node: str | None = None) -> RequestEntry:
    return RequestEntry(rid, "2026-01-01T00:00:00.000Z", "POST", "/chat", 200, 0.0, node)


def test_keeps_the_newest_entries_oldest_first() -> None:
    log = RequestLog(2)
    for rid in ("a", "b", "c"):
        log.record(entry(rid))
    assert [e.request_id for e in log.recent()] == ["b", "c"]
    assert len(log) == log.capacity == 2


def test_limit_and_node_filter_apply_together() -> None:
    log = RequestLog()
    for rid, node in (("a", "x"), ("b", "y"), ("c", "x"), ("d", None)):
        log.record(entry(rid, node))
    assert [e.request_id for e in log.recent(1, "x")] == ["c"]
    assert [e.request_id for e in log.recent(node="x")] == ["a", "c"]
    assert [e.request_id for e in log.recent(2)] == ["c", "d"]
    assert log.recent(0) == []
    log.clear()
    assert log.recent() == []


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RequestLog(0)
