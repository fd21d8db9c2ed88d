"""TinyStore: records round-trip, survive reopening, and survive a killed process."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulator.core.errors import ThreadNotFound
from emulator.core.journal import JOURNAL_NAME, SNAPSHOT_NAME
from emulator.core.records import IdempotencyRecord, MessageRecord, Store, ThreadRecord
from emulator.core.store import StoreError, TinyStore

REPO = Path(__file__).resolve().parents[2]


def thread(tid: str = "thr_1", node: str = "support", **kw: str | None) -> ThreadRecord:
    fields: dict[str, str | None] = {"api": "interlocute", "created_at": "2024-05-01T10:00:00Z"}
    fields.update(kw)
    return ThreadRecord(id=tid, node=node, **fields)  # type: ignore[arg-type]


def turn(tid: str, n: int) -> list[MessageRecord]:
    extra = {"model": "gpt-4o", "usage": {"inputTokens": n, "outputTokens": 2}, "sources": ["kb"]}
    return [
        MessageRecord(f"msg_{tid}_{n}u", tid, "user", f"question {n}", "2024-05-01T10:00:01Z"),
        MessageRecord(f"msg_{tid}_{n}a", tid, "assistant", f"answer {n} é ✓", "t", extra),
    ]


@pytest.fixture(params=["memory", "directory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TinyStore]:
    s = TinyStore.memory() if request.param == "memory" else TinyStore(tmp_path / "data")
    yield s
    s.close()


def reopen(path: Path, old: TinyStore | None = None) -> TinyStore:
    if old is not None:
        old.close()
    return TinyStore(path)


def test_satisfies_the_store_protocol() -> None:
    s: Store = TinyStore.memory()
    s.close()


def test_records_round_trip(store: TinyStore) -> None:
    t = thread(session="sess-1")
    store.create_thread(t)
    messages = turn("thr_1", 1)
    store.append_messages(messages)
    record = IdempotencyRecord("support", "key-1", "fp", {"status": 200, "events": [["a", 1]]})
    store.put_idempotency(record)

    assert store.get_thread("thr_1") == t
    assert store.messages("thr_1") == messages
    assert store.message_count("thr_1") == 2
    assert store.get_idempotency("support", "key-1") == record
    assert store.get_thread("nope") is None
    assert store.messages("nope") == []
    assert store.message_count("nope") == 0


def test_returned_values_do_not_alias_the_store(store: TinyStore) -> None:
    store.create_thread(thread())
    extra: dict[str, object] = {"usage": {"outputTokens": 1}}
    store.append_messages([MessageRecord("m1", "thr_1", "user", "hi", "t", extra)])
    extra["usage"] = "changed by the caller"
    got = store.messages("thr_1")[0].extra
    got["usage"]["outputTokens"] = 99
    assert store.messages("thr_1")[0].extra == {"usage": {"outputTokens": 1}}


NESTED_EXTRA = {
    "model": "gpt-4o",
    "usage": {"inputTokens": 3, "outputTokens": 5, "ratio": 0.5},
    "sources": ["kb_1", "kb_2"],
    "replay": ["conversation", 2],
    "deep": [[1, {"x": None, "y": [True, "é ✓"]}], {}],
}
PAYLOAD = {
    "tokens": ["Hel", "lo"],
    "sources": [{"id": "kb_1", "score": 0.9}],
    "usage": {"input_tokens": 1},
    "interruption": None,
}


def nested_turn() -> tuple[list[MessageRecord], IdempotencyRecord]:
    extra_with_tuple = {**NESTED_EXTRA, "replay": ("conversation", 2)}  # JSON: an array
    messages = [
        MessageRecord("m1", "thr_1", "user", "hi", "t", {"requestId": "r1", "tokens": 1}),
        MessageRecord("m2", "thr_1", "assistant", "hello", "t", extra_with_tuple),
    ]
    return messages, IdempotencyRecord("support", "k", "fp", PAYLOAD, "thr_1")


def test_nested_extras_and_payloads_come_back_as_stored_json(store: TinyStore) -> None:
    messages, record = nested_turn()
    store.store_turn(thread(), messages, record)
    got = store.messages("thr_1")
    assert got[1].extra == NESTED_EXTRA
    assert type(got[1].extra["replay"]) is list  # a tuple is stored as JSON: an array
    assert got[0].extra == {"requestId": "r1", "tokens": 1}
    assert store.get_idempotency("support", "k") == record


def test_nested_values_survive_reopening_from_journal_and_snapshot(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    messages, record = nested_turn()
    s.store_turn(thread(), messages, record)
    journal = (tmp_path / JOURNAL_NAME).read_bytes()
    # The journal holds the values as plain JSON: objects and arrays, not strings.
    assert json.loads(journal.splitlines()[1])["ops"][2][3]["extra"] == NESTED_EXTRA

    for fold in (False, True):  # replayed from the journal, then read from a snapshot
        if fold:
            s.compact()
            snapshot = json.loads((tmp_path / SNAPSHOT_NAME).read_bytes())
            assert snapshot["tables"]["messages"]["2"]["extra"] == NESTED_EXTRA
            assert snapshot["tables"]["idempotency"]["1"]["payload"] == PAYLOAD
        s = reopen(tmp_path, s)
        got = s.messages("thr_1")
        assert [m.extra for m in got] == [{"requestId": "r1", "tokens": 1}, NESTED_EXTRA]
        assert type(got[1].extra["sources"]) is list
        assert type(got[1].extra["deep"][0][1]["y"]) is list
        assert s.get_idempotency("support", "k") == record
        assert type(s.get_idempotency("support", "k").payload["tokens"]) is list  # type: ignore[union-attr]
    s.close()


def test_changing_a_returned_payload_or_nested_extra_changes_nothing_stored(
    tmp_path: Path,
) -> None:
    s = TinyStore(tmp_path)
    messages, record = nested_turn()
    s.store_turn(thread(), messages, record)
    for _ in range(2):  # as written, then as read back from the files
        extra = s.messages("thr_1")[1].extra
        extra["sources"].append("changed")  # type: ignore[attr-defined]
        extra["deep"][0][1]["x"] = "changed"  # type: ignore[index]
        payload = s.get_idempotency("support", "k").payload  # type: ignore[union-attr]
        payload["tokens"].append("changed")  # type: ignore[attr-defined]
        payload["usage"]["input_tokens"] = 99  # type: ignore[index]
        assert s.messages("thr_1")[1].extra == NESTED_EXTRA
        assert s.get_idempotency("support", "k") == record
        s = reopen(tmp_path, s)
    assert s.messages("thr_1")[1].extra == NESTED_EXTRA
    s.close()


def test_everything_survives_reopening(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread("thr_1", session="s1"))
    s.create_thread(thread("thr_2", node="other"))
    for n in range(3):
        s.append_messages(turn("thr_1", n))
    s.append_messages(turn("thr_2", 0))
    s.put_idempotency(IdempotencyRecord("support", "k", "fp", {"a": 1}))
    expected = s.messages("thr_1")

    s = reopen(tmp_path, s)
    assert s.messages("thr_1") == expected
    assert s.thread_for_session("support", "s1") == thread("thr_1", session="s1")
    assert s.get_idempotency("support", "k") == IdempotencyRecord("support", "k", "fp", {"a": 1})
    s.compact()
    s = reopen(tmp_path, s)
    assert s.messages("thr_1") == expected
    assert s.message_count("thr_2") == 2
    s.append_messages(turn("thr_1", 9))  # ids continue after the reloaded ones
    s = reopen(tmp_path, s)
    assert [m.id for m in s.messages("thr_1")][-2:] == ["msg_thr_1_9u", "msg_thr_1_9a"]
    s.close()


def test_memory_store_writes_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = TinyStore.memory()
    s.create_thread(thread())
    s.append_messages(turn("thr_1", 1))
    s.compact()
    assert s.path is None
    assert list(tmp_path.iterdir()) == []
    s.close()


def test_delete_thread_removes_its_messages_persistently(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread("thr_1", session="s1"))
    s.create_thread(thread("thr_2"))
    s.append_messages(turn("thr_1", 1))
    s.append_messages(turn("thr_2", 1))
    s.put_idempotency(IdempotencyRecord("support", "k1", "fp", {"n": 1}, "thr_1"))
    s.put_idempotency(IdempotencyRecord("support", "k2", "fp", {"n": 2}, "thr_2"))

    assert s.delete_thread("thr_1") is True
    assert s.get_idempotency("support", "k1") is None  # it would replay a turn that is gone
    assert s.delete_thread("thr_1") is False
    assert s.get_thread("thr_1") is None
    assert s.messages("thr_1") == []
    assert s.thread_for_session("support", "s1") is None

    s = reopen(tmp_path, s)
    assert s.get_thread("thr_1") is None
    assert s.message_count("thr_1") == 0
    assert s.message_count("thr_2") == 2
    snapshot_docs = s._storage.read()["messages"].values()
    assert {d["thread_id"] for d in snapshot_docs} == {"thr_2"}
    assert s.get_idempotency("support", "k1") is None
    assert s.get_idempotency("support", "k2") is not None
    s.close()


@pytest.mark.parametrize("reopened", [False, True], ids=["as-written", "reopened"])
def test_deleting_a_thread_deletes_exactly_the_keys_that_point_at_it(
    tmp_path: Path, reopened: bool
) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread("thr_1"))
    s.create_thread(thread("thr_2"))

    def put(key: str, thread_id: str | None) -> None:
        s.put_idempotency(IdempotencyRecord("support", key, "fp", {"key": key}, thread_id))

    for n in range(12):  # more keys than a thread keeps in its small form
        put(f"k{n}", "thr_1")
    put("k0", "thr_2")  # a retry stored again for another thread: the key moves with it
    put("k1", None)  # ... or to no thread at all
    put("j0", "thr_2")
    put("j1", "thr_2")
    put("j0", "thr_1")
    if reopened:
        s = reopen(tmp_path, s)

    def keys() -> set[str]:
        names = [f"k{n}" for n in range(12)] + ["j0", "j1"]
        return {k for k in names if s.get_idempotency("support", k) is not None}

    assert s.delete_thread("thr_1")
    assert keys() == {"k0", "k1", "j1"}
    assert s.delete_thread("thr_2")
    assert keys() == {"k1"}
    s = reopen(tmp_path, s)
    assert keys() == {"k1"}
    s.close()


def test_reset_forgets_everything_persistently(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread(session="s1"))
    s.append_messages(turn("thr_1", 1))
    s.put_idempotency(IdempotencyRecord("support", "k", "fp", {}))
    s.reset()
    assert s.list_threads() == []
    assert s.thread_for_session("support", "s1") is None
    assert s.get_idempotency("support", "k") is None

    s.create_thread(thread("thr_new"))
    s.append_messages(turn("thr_new", 1))
    s = reopen(tmp_path, s)
    assert [t.id for t in s.list_threads()] == ["thr_new"]
    assert s.messages("thr_1") == []
    assert s.message_count("thr_new") == 2
    s.close()


def test_sessions_are_per_node(store: TinyStore) -> None:
    store.create_thread(thread("thr_a", session="s1"))
    store.create_thread(thread("thr_b", node="other", session="s1"))
    store.create_thread(thread("thr_c"))
    a = store.thread_for_session("support", "s1")
    b = store.thread_for_session("other", "s1")
    assert a is not None and a.id == "thr_a"
    assert b is not None and b.id == "thr_b"
    assert store.thread_for_session("support", "s2") is None


def test_list_threads_filters_by_node_and_orders_by_creation(store: TinyStore) -> None:
    store.create_thread(thread("late", created_at="2024-05-02T00:00:00Z"))
    store.create_thread(thread("early", created_at="2024-05-01T00:00:00Z"))
    store.create_thread(thread("tie", created_at="2024-05-02T00:00:00Z"))
    store.create_thread(thread("elsewhere", node="other"))
    assert [t.id for t in store.list_threads("support")] == ["early", "late", "tie"]
    assert len(store.list_threads()) == 4
    assert store.list_threads("nobody") == []


def test_idempotency_records_replace_per_node_and_key(store: TinyStore) -> None:
    store.put_idempotency(IdempotencyRecord("support", "k", "fp1", {"n": 1}))
    store.put_idempotency(IdempotencyRecord("other", "k", "fp2", {"n": 2}))
    store.put_idempotency(IdempotencyRecord("support", "k", "fp3", {"n": 3}))
    assert store.get_idempotency("support", "k") == IdempotencyRecord(
        "support", "k", "fp3", {"n": 3}
    )
    assert store.get_idempotency("other", "k") == IdempotencyRecord("other", "k", "fp2", {"n": 2})
    assert store.get_idempotency("support", "missing") is None


def test_bad_writes_raise_and_write_nothing(store: TinyStore) -> None:
    store.create_thread(thread())
    with pytest.raises(ThreadNotFound):
        store.append_messages([*turn("thr_1", 1), *turn("ghost", 1)])
    with pytest.raises(StoreError, match="already exists"):
        store.create_thread(thread())
    with pytest.raises(StoreError, match="not JSON serializable"):
        store.append_messages([MessageRecord("m", "thr_1", "user", "x", "t", {"o": object()})])
    assert store.message_count("thr_1") == 0
    store.append_messages(turn("thr_1", 2))
    assert store.message_count("thr_1") == 2


def test_a_turn_is_stored_whole_or_not_at_all(store: TinyStore) -> None:
    key = IdempotencyRecord("support", "key-1", "fp", {"turn": 1})
    unstorable = MessageRecord("m", "thr_1", "assistant", "lone \ud800", "t")
    with pytest.raises(StoreError):
        store.store_turn(thread(), [*turn("thr_1", 1), unstorable], key)
    assert store.get_thread("thr_1") is None
    assert store.get_idempotency("support", "key-1") is None
    store.store_turn(thread(), turn("thr_1", 1), key)
    store.store_turn(None, turn("thr_1", 2))
    assert store.message_count("thr_1") == 4
    assert store.get_idempotency("support", "key-1") == key
    if store.path is not None:
        # One turn, one journal line (after the header): nothing can be stored in part.
        lines = (store.path / JOURNAL_NAME).read_bytes().splitlines()
        assert len(lines) == 3
        assert store.write_error is None


def test_a_closed_store_refuses_calls() -> None:
    s = TinyStore.memory()
    s.close()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.get_thread("thr_1")


def test_a_directory_is_opened_by_one_store_at_a_time(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    with pytest.raises(StoreError, match="in use"):
        TinyStore(tmp_path)
    s.close()
    TinyStore(tmp_path).close()


def test_journal_is_compacted_as_it_grows(tmp_path: Path) -> None:
    s = TinyStore(tmp_path, compact_min_bytes=4096)
    s.create_thread(thread())
    journal = tmp_path / JOURNAL_NAME
    for n in range(199):
        s.append_messages(turn("thr_1", n))
    s.close()  # waits for a compaction that is still running
    # Compactions ran on their own (on a thread) and rebased the journal.
    assert json.loads(journal.read_bytes().split(b"\n")[0])["generation"] >= 1
    s = reopen(tmp_path)
    s.append_messages(turn("thr_1", 199))
    s.compact()  # folds in everything, and waits
    assert journal.read_bytes().count(b"\n") == 1  # only the header is left
    s = reopen(tmp_path, s)
    assert s.message_count("thr_1") == 400
    assert s.messages("thr_1")[-1].id == "msg_thr_1_199a"
    s.close()


def test_torn_last_journal_line_is_ignored_and_cut_off(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.append_messages(turn("thr_1", 1))
    expected = s.messages("thr_1")
    s.close()
    journal = tmp_path / JOURNAL_NAME
    good = journal.read_bytes()
    with journal.open("ab") as f:
        f.write(b'{"ops":[["set","messages","3",{"id":"half')  # killed mid-write

    s = TinyStore(tmp_path)
    assert s.messages("thr_1") == expected
    assert journal.read_bytes() == good
    s.append_messages(turn("thr_1", 2))
    s = reopen(tmp_path, s)
    assert s.message_count("thr_1") == 4
    s.close()


def test_corrupt_snapshot_is_an_error_naming_the_file(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.compact()
    s.close()
    snapshot = tmp_path / SNAPSHOT_NAME
    snapshot.write_bytes(snapshot.read_bytes()[:-5])
    with pytest.raises(StoreError, match=str(snapshot)):
        TinyStore(tmp_path)
    snapshot.write_text("{}")  # not "in use" below: the failed open released the lock
    with pytest.raises(StoreError, match="not a chat-api-emulator/store file"):
        TinyStore(tmp_path)


def test_damaged_complete_journal_line_is_an_error(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.close()
    journal = tmp_path / JOURNAL_NAME
    with journal.open("ab") as f:
        f.write(b"garbage\n")
    with pytest.raises(StoreError, match=rf"{JOURNAL_NAME}:3: not a journal entry"):
        TinyStore(tmp_path)
    assert journal.read_bytes().endswith(b"garbage\n")  # nothing was rewritten


def test_stale_journal_after_an_interrupted_compaction_is_not_replayed(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.append_messages(turn("thr_1", 1))
    journal = tmp_path / JOURNAL_NAME
    stale = journal.read_bytes()
    s.reset()
    s.close()
    # As if the process died after the new snapshot was renamed in, before the journal reset.
    journal.write_bytes(stale)
    s = TinyStore(tmp_path)
    assert s.list_threads() == []
    s.close()


def test_changes_made_while_compactions_run_are_all_kept(tmp_path: Path) -> None:
    # Compactions write the live tables from their thread while these creates, appends and
    # deletes go on; reopened, the store is exactly what it was in memory.
    s = TinyStore(tmp_path, compact_min_bytes=8192)
    for n in range(400):
        s.create_thread(thread(f"thr_{n}"))
        s.append_messages(turn(f"thr_{n}", 1))
        if n % 3:
            s.delete_thread(f"thr_{n // 2}")
    expected = {t.id: s.messages(t.id) for t in s.list_threads()}
    s = reopen(tmp_path, s)
    assert {t.id: s.messages(t.id) for t in s.list_threads()} == expected
    assert json.loads((tmp_path / JOURNAL_NAME).read_bytes().split(b"\n")[0])["generation"] > 0
    s.close()


def test_a_compaction_cut_short_before_the_journal_was_rebased_loses_nothing(
    tmp_path: Path,
) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.append_messages(turn("thr_1", 1))
    journal = tmp_path / JOURNAL_NAME
    before = journal.read_bytes()  # generation 0, every line the snapshot will hold
    s.compact()  # snapshot "up to this byte of generation 0", journal rebased to generation 1
    s.append_messages(turn("thr_1", 2))  # appended "during" the compaction
    after = journal.read_bytes().split(b"\n", 1)[1]
    s.close()
    assert json.loads((tmp_path / SNAPSHOT_NAME).read_bytes())["journalOffset"] == len(before)
    # As if killed after the snapshot's rename, before the rebased journal replaced the old.
    journal.write_bytes(before + after)
    s = reopen(tmp_path)
    assert [m.id for m in s.messages("thr_1")][-1] == "msg_thr_1_2a"
    assert s.message_count("thr_1") == 4
    s.close()


@pytest.mark.parametrize("journal_left", [b"", b"header and half a line"], ids=["gone", "short"])
def test_a_journal_shorter_than_its_snapshot_says_starts_afresh_and_keeps_new_turns(
    tmp_path: Path, journal_left: bytes
) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.append_messages(turn("thr_1", 1))
    s.compact()  # the snapshot holds the journal up to its end
    s.close()
    journal = tmp_path / JOURNAL_NAME
    # As after a power cut (appends are not fsynced), or a deleted journal.
    journal.write_bytes(journal_left[: len(journal_left) // 2])
    s = reopen(tmp_path)
    s.append_messages(turn("thr_1", 2))
    s = reopen(tmp_path, s)
    assert s.message_count("thr_1") == 4
    s.close()


def test_repair_drops_only_the_bad_records_of_a_snapshot(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread("thr_1"))
    s.create_thread(thread("thr_2"))
    s.append_messages(turn("thr_1", 1))
    s.compact()
    s.close()
    snapshot = tmp_path / SNAPSHOT_NAME
    value = json.loads(snapshot.read_bytes())
    del value["tables"]["threads"]["2"]["api"]
    snapshot.write_text(json.dumps(value))
    with pytest.raises(StoreError, match=rf"{SNAPSHOT_NAME}: bad threads record 2: no 'api'"):
        TinyStore(tmp_path)

    done = TinyStore.repair(tmp_path)
    assert (done.kept["threads"], done.kept["messages"], done.moved) == (1, 2, 1)
    rejected = json.loads((tmp_path / "threads.rejected").read_text())
    assert (rejected["table"], rejected["doc_id"], rejected["doc"]["id"]) == (
        "threads",
        "2",
        "thr_2",
    )
    s = reopen(tmp_path)
    assert [t.id for t in s.list_threads()] == ["thr_1"]
    assert s.message_count("thr_1") == 2
    s.close()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda doc: doc.update(extra=["not", "an", "object"]), "'extra' has the wrong type"),
        (lambda doc: doc.update(extra="{}"), "'extra' has the wrong type"),
        (lambda doc: doc.pop("extra"), "no 'extra'"),
    ],
    ids=["array", "string", "missing"],
)
def test_a_damaged_extra_is_reported_at_its_journal_line_and_in_the_snapshot(
    tmp_path: Path, change: Callable[[dict[str, object]], object], problem: str
) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.append_messages(turn("thr_1", 1))  # journal line 3: messages 1 and 2
    s.close()
    journal = tmp_path / JOURNAL_NAME
    good = journal.read_bytes()
    lines = good.split(b"\n")
    entry = json.loads(lines[2])
    change(entry["ops"][1][3])
    lines[2] = json.dumps(entry).encode()
    journal.write_bytes(b"\n".join(lines))
    with pytest.raises(StoreError, match=rf"{JOURNAL_NAME}:3: bad messages record 2: {problem}"):
        TinyStore(tmp_path)

    # The same damage in a snapshot: refused, then moved aside by repair.
    journal.write_bytes(good)
    s = TinyStore(tmp_path)
    s.compact()
    s.close()
    journal.write_bytes(b"")
    snapshot = tmp_path / SNAPSHOT_NAME
    value = json.loads(snapshot.read_bytes())
    change(value["tables"]["messages"]["2"])
    snapshot.write_text(json.dumps(value))
    with pytest.raises(StoreError, match=rf"{SNAPSHOT_NAME}: bad messages record 2: {problem}"):
        TinyStore(tmp_path)
    done = TinyStore.repair(tmp_path)
    assert (done.kept["messages"], done.moved) == (1, 1)
    rejected = json.loads((tmp_path / "threads.rejected").read_text())
    assert (rejected["table"], rejected["doc_id"]) == ("messages", "2")
    assert rejected["doc"] == value["tables"]["messages"]["2"]
    s = reopen(tmp_path)
    assert [m.id for m in s.messages("thr_1")] == ["msg_thr_1_1u"]
    assert s.messages("thr_1")[0].extra == {}
    s.close()


def test_newer_journal_than_snapshot_is_an_error(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    s.create_thread(thread())
    s.compact()
    s.close()
    (tmp_path / SNAPSHOT_NAME).unlink()
    with pytest.raises(StoreError, match="newer than snapshot"):
        TinyStore(tmp_path)


CHILD = textwrap.dedent(
    """
    import sys
    from emulator.core.records import MessageRecord, ThreadRecord
    from emulator.core.store import TinyStore

    store = TinyStore(sys.argv[1], compact_min_bytes=8192)
    store.create_thread(ThreadRecord("thr_1", "support", "interlocute", "t"))
    n = 0
    while True:
        n += 1
        store.append_messages([
            MessageRecord(f"u{n}", "thr_1", "user", "q" * 300, "t"),
            MessageRecord(f"a{n}", "thr_1", "assistant", "a" * 300, "t", {"n": n}),
        ])
        print(f"a{n}", flush=True)
    """
)


def test_acknowledged_turns_survive_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data)], stdout=subprocess.PIPE, text=True, env=env
    )
    acks: queue.Queue[str] = queue.Queue()
    assert child.stdout is not None
    stdout = child.stdout

    def read_acks() -> None:
        for line in stdout:
            acks.put(line.strip())

    threading.Thread(target=read_acks, daemon=True).start()
    acked: list[str] = []
    journal = data / JOURNAL_NAME

    def compacted() -> bool:  # the journal was rebased: a compaction finished
        first = journal.read_bytes().split(b"\n", 1)[0] if journal.exists() else b""
        return b'"generation":0' not in first and first.endswith(b"}")

    try:
        # Killed once compactions have run (on their thread) and turns are still coming.
        while len(acked) < 300 or (not compacted() and len(acked) < 50_000):
            acked.append(acks.get(timeout=20))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        stdout.close()
    assert child.returncode == -signal.SIGKILL

    s = TinyStore(data)
    ids = [m.id for m in s.messages("thr_1")]
    assert set(acked) <= set(ids)
    assert len(ids) % 2 == 0  # a turn is all there or not at all
    assert ids[: 2 * len(acked)] == [
        x for n in range(1, len(acked) + 1) for x in (f"u{n}", f"a{n}")
    ]
    header = json.loads((data / JOURNAL_NAME).read_bytes().split(b"\n")[0])
    assert header["generation"] > 0  # compaction ran while the child was appending
    s.close()
