"""TinyStore's files, byte for byte, and what its memory costs the garbage collector.

Each stored document is kept encoded in memory, and the files are written from those bytes:
the format is pinned here, so a change to a record's fields (which would change what is
written) shows. A large store must add nothing a full collection visits: under load, full
collections are what the p99 latency is made of (issue 10).
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from emulator.core.journal import JOURNAL_NAME, SNAPSHOT_NAME
from emulator.core.records import IdempotencyRecord, MessageRecord
from emulator.core.store import StoreError, TinyStore
from tests.core.test_store import reopen, thread, turn

EXTRA = {
    "model": "echo",
    "usage": {"in": 1, "ratio": 0.5},
    "sources": ["kb", None, True],
    "é": '✓\n\t"',
    "tuple": (1, 2),
}
THREAD_DOC = (
    b'{"id":"thr_1","node":"support","api":"interlocute",'
    b'"created_at":"2024-05-01T10:00:00Z","session":"sess-1"}'
)
M1 = (
    b'{"id":"m1","thread_id":"thr_1","role":"user","content":"hi \xc3\xa9 \xe2\x9c\x93\\n",'
    b'"created_at":"t1","extra":{"requestId":"r1"}}'
)
M2 = (
    b'{"id":"m2","thread_id":"thr_1","role":"assistant","content":"hello","created_at":"t2",'
    b'"extra":{"model":"echo","usage":{"in":1,"ratio":0.5},"sources":["kb",null,true],'
    b'"\xc3\xa9":"\xe2\x9c\x93\\n\\t\\"","tuple":[1,2]}}'
)
K1 = (
    b'{"node":"support","key":"k1","fingerprint":"POST /x abc",'
    b'"payload":{"status":200,"events":[["a",1]]},"thread_id":"thr_1"}'
)
M3 = b'{"id":"m3","thread_id":"thr_1","role":"user","content":"again","created_at":"t3","extra":{}}'


def _first_turn(s: TinyStore) -> None:
    messages = [
        MessageRecord("m1", "thr_1", "user", "hi é ✓\n", "t1", {"requestId": "r1"}),
        MessageRecord("m2", "thr_1", "assistant", "hello", "t2", EXTRA),
    ]
    record = IdempotencyRecord(
        "support", "k1", "POST /x abc", {"status": 200, "events": [["a", 1]]}, "thr_1"
    )
    s.store_turn(thread(session="sess-1"), messages, record)
    s.append_messages([MessageRecord("m3", "thr_1", "user", "again", "t3", {})])


def _snapshot(generation: int, offset: int) -> bytes:
    return (
        b'{"format":"chat-api-emulator/store","version":1,"generation":%d,"journalOffset":%d,'
        b'"tables":{"threads":{"1":' % (generation, offset) + THREAD_DOC + b'},"messages":{"1":'
        + M1 + b',"2":' + M2 + b',"3":' + M3 + b'},"idempotency":{"1":' + K1 + b"}}}"
    )  # fmt: skip


def test_the_journal_and_the_snapshot_are_these_bytes(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    _first_turn(s)
    journal = (tmp_path / JOURNAL_NAME).read_bytes()
    assert journal == (
        b'{"format":"chat-api-emulator/store","version":1,"generation":0}\n'
        b'{"ops":[["set","threads","1",' + THREAD_DOC + b'],["set","messages","1",' + M1
        + b'],["set","messages","2",' + M2 + b'],["set","idempotency","1",' + K1 + b"]]}\n"
        b'{"ops":[["set","messages","3",' + M3 + b"]]}\n"
    )  # fmt: skip
    s.compact()  # the documents as written
    assert (tmp_path / SNAPSHOT_NAME).read_bytes() == _snapshot(0, len(journal))
    s = reopen(tmp_path, s)
    s.compact()  # the documents as read back from the files
    header = (tmp_path / JOURNAL_NAME).read_bytes()
    assert header == b'{"format":"chat-api-emulator/store","version":1,"generation":2}\n'
    assert (tmp_path / SNAPSHOT_NAME).read_bytes() == _snapshot(1, len(header))
    s.close()


def _new_tracked(before: set[int], at_least: int) -> list[object]:
    """Containers the collector tracks, made since `before`, with `at_least` items."""
    return [
        o
        for o in gc.get_objects()
        if id(o) not in before
        and o is not before
        and type(o) in (dict, list, set)
        and len(o) >= at_least  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("where", ["memory", "directory", "reopened", "compacted"])
def test_stored_turns_leave_nothing_a_full_collection_visits(tmp_path: Path, where: str) -> None:
    turns = 400

    def fill(s: TinyStore) -> None:
        for n in range(turns):
            t = thread(f"thr_{n}", session=f"s{n}" if n % 2 else None)
            s.store_turn(t, turn(t.id, n), IdempotencyRecord("support", f"k{n}", "fp", {}, t.id))
        for n in range(20):  # one long thread as well
            s.append_messages(turn("thr_0", 100 + n))

    gc.collect()
    before_ids = {id(o) for o in gc.get_objects()}
    before = len(before_ids)
    s = TinyStore.memory() if where == "memory" else TinyStore(tmp_path)
    fill(s)
    if where in ("reopened", "compacted"):
        if where == "compacted":
            s.compact()
        s = reopen(tmp_path, s)
    assert s.message_count("thr_0") == 42
    gc.collect()
    # No table of stored documents (nor any index of them) is a container the collector
    # tracks: a full collection would visit every item of it.
    assert _new_tracked(before_ids, turns) == []
    # And the documents themselves are no objects it tracks: at most a few per store.
    grown = len(gc.get_objects()) - before
    assert grown < turns // 4, f"{grown} more objects tracked after {turns} turns"
    s.close()


def test_a_long_thread_keeps_its_messages_in_order(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread("thr_long"))
    s.create_thread(thread("thr_short"))
    expected = []
    for n in range(30):  # past the few ids kept packed in bytes, interleaved with another
        s.append_messages(turn("thr_long", n))
        expected += [f"msg_thr_long_{n}u", f"msg_thr_long_{n}a"]
        if n % 10 == 0:
            s.append_messages(turn("thr_short", n))
    for _ in range(2):  # as written, then as read back from the files
        assert [m.id for m in s.messages("thr_long")] == expected
        assert s.message_count("thr_long") == 60
        assert s.message_count("thr_short") == 6
        s = reopen(tmp_path, s)
    assert s.delete_thread("thr_long")
    assert s.messages("thr_long") == []
    assert s.message_count("thr_short") == 6
    s.create_thread(thread("thr_long"))  # the same id again starts empty
    s.append_messages(turn("thr_long", 99))
    assert [m.id for m in s.messages("thr_long")] == ["msg_thr_long_99u", "msg_thr_long_99a"]
    s = reopen(tmp_path, s)
    assert s.message_count("thr_long") == 2
    s.close()


def test_records_read_back_are_fresh_objects_each_time(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    _first_turn(s)
    first, second = s.messages("thr_1")[1], s.messages("thr_1")[1]
    assert first == second and first.extra is not second.extra
    first.extra["usage"]["in"] = 99  # type: ignore[index]
    record = s.get_idempotency("support", "k1")
    assert record is not None
    record.payload["events"].clear()  # type: ignore[attr-defined]
    s.compact()
    s = reopen(tmp_path, s)
    assert s.messages("thr_1")[1].extra["usage"] == {"in": 1, "ratio": 0.5}
    assert s.get_idempotency("support", "k1").payload["events"] == [["a", 1]]  # type: ignore[union-attr]
    s.close()


def test_a_snapshot_with_values_only_the_standard_library_reads_still_loads(
    tmp_path: Path,
) -> None:
    # An older version wrote a NaN as `NaN` (json.dumps), and msgspec refuses integers beyond
    # 64 bits: such a snapshot is read the slow way, every record still checked.
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.append_messages(turn("thr_1", 1))
    s.compact()
    s.close()
    snapshot = tmp_path / SNAPSHOT_NAME
    text = snapshot.read_text().replace('"inputTokens":1', '"inputTokens":NaN,"big":' + "9" * 30)
    snapshot.write_text(text)
    s = TinyStore(tmp_path)
    usage = s.messages("thr_1")[1].extra["usage"]
    # Kept as the store writes it: the NaN as null (what JSON can hold).
    assert usage == {"inputTokens": None, "big": int("9" * 30), "outputTokens": 2}
    s.close()


@pytest.mark.parametrize(
    ("tables", "problem"),
    [
        ("[]", "'tables' is not an object of objects"),
        ('{"threads": []}', "'tables' is not an object of objects"),
        ("null", "'tables' is not an object of objects"),
        ('{"threads": {"1": {"id": 1}}}', "bad threads record 1: 'id' has the wrong type"),
    ],
    ids=["array", "table-array", "null", "bad-record"],
)
def test_a_damaged_snapshot_is_reported_as_before(
    tmp_path: Path, tables: str, problem: str
) -> None:
    TinyStore(tmp_path).close()
    head = '{"format":"chat-api-emulator/store","version":1,"generation":0'
    (tmp_path / SNAPSHOT_NAME).write_text(f'{head},"tables":{tables}}}')
    with pytest.raises(StoreError, match=rf"{SNAPSHOT_NAME}: {problem}"):
        TinyStore(tmp_path)
    (tmp_path / SNAPSHOT_NAME).write_text(f'{head},"journalOffset":-1,"tables":{{}}}}')
    with pytest.raises(StoreError, match=rf"{SNAPSHOT_NAME}: bad journalOffset -1"):
        TinyStore(tmp_path)
