"""`TinyStore`: the `Store` seam backed by TinyDB, in a directory or in memory.

Persistence is TinyDB with `emulator.core.journal`'s storage and table: a snapshot plus an
append-only journal, so appending a turn costs the same whether the store holds a hundred
messages or a million. Lookups go through in-memory indexes built once at open, so no read
scans every message.

Durability: `append_messages` returns once its one journal line is in the operating system,
so a turn survives the process being killed at any moment, but not a power cut (appends are
not fsynced; snapshots are). Opening a directory takes an exclusive lock on it, so a second
process (or a second `TinyStore` in this one) gets a `StoreError` instead of corrupting it.

Values in `MessageRecord.extra` and `IdempotencyRecord.payload` must be JSON: they are
stored as JSON in both modes, so tuples come back as lists in memory mode too.
"""

from __future__ import annotations

import functools
import os
import struct
import threading
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, ParamSpec, TypeVar, cast

import msgspec
from tinydb import TinyDB

from emulator.core.errors import EmulatorError, ThreadNotFound
from emulator.core.journal import DEFAULT_COMPACT_MIN_BYTES, JournalStorage
from emulator.core.journaltable import JournaledTable
from emulator.core.records import IdempotencyRecord, MessageRecord, ThreadRecord
from emulator.core.storedocs import (
    IDEMPOTENCY,
    MESSAGES,
    THREADS,
    idempotency_doc,
    idempotency_keys,
    idempotency_record,
    message_doc,
    message_record,
    message_thread,
    thread_doc,
    thread_keys,
    thread_record,
    validate,
)
from emulator.core.storefiles import (
    JOURNAL_NAME,
    REJECTED_NAME,
    SNAPSHOT_NAME,
    CorruptStoreFile,
    Op,
    Rejected,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; a shared directory is the user's risk.
    fcntl = None  # type: ignore[assignment]

__all__ = ["Repaired", "StoreError", "TinyStore"]

LOCK_NAME = ".lock"

P = ParamSpec("P")
R = TypeVar("R")


class StoreError(EmulatorError):
    """The store cannot read or write its data; the message names the file when it can.

    For API clients it is an internal error (each API's documented 500), not a code of its own.
    """

    code = "internal_error"
    status = 500


class _Database(TinyDB):
    table_class = JournaledTable


class _boundary:
    """Turn TinyDB, json and OS errors into `StoreError`, in one place.

    A class, not a generator context manager: it is entered on every write (each turn)."""

    __slots__ = ("action",)

    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        action = self.action
        if isinstance(exc, CorruptStoreFile):
            hint = f"run `emulator repair --data {exc.path.parent}` to keep every good record"
            raise StoreError(f"cannot {action}: {exc}; {hint}") from exc
        if isinstance(exc, OSError):
            where = f" ({exc.filename})" if exc.filename else ""
            raise StoreError(f"cannot {action}{where}: {exc.strerror or exc}") from exc
        if isinstance(exc, ValueError | TypeError):  # json encoding, TinyDB's duplicate ids
            raise StoreError(f"cannot {action}: {exc}") from exc


class _Writing(_boundary):
    """`_boundary` for writes, keeping the store's `write_error` for health to report."""

    __slots__ = ("store",)

    def __init__(self, store: TinyStore, action: str) -> None:
        super().__init__(action)
        self.store = store

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.store._write_error = None
            return
        try:
            super().__exit__(kind, exc, traceback)
        except StoreError as error:
            self.store._write_error = error.message
            raise
        if isinstance(exc, StoreError):
            self.store._write_error = exc.message
        # Any other error (ThreadNotFound...) leaves write_error as it is.


def _synchronized(method: Callable[P, R]) -> Callable[P, R]:
    # Sync handlers may run in a thread pool; indexes and the journal fd need one writer.
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = cast("TinyStore", args[0])
        with store._lock:
            if store._db is None:
                raise StoreError("the store is closed")
            return method(*args, **kwargs)

    return wrapper


class TinyStore:
    """Threads, messages and idempotency records in TinyDB.

    `path` is a directory (created if missing; holds `threads.json` and `threads.journal`)
    or None for a store that lives in memory only. `compact_min_bytes` is the journal size
    below which it is never folded into the snapshot.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
    ) -> None:
        self.path = None if path is None else Path(path)
        self._lock = threading.RLock()
        self._lock_file: IO[bytes] | None = None
        self._db: _Database | None = None
        self._write_error: str | None = None
        with _boundary(f"open the store in {self.path or 'memory'}"):
            if self.path is not None:
                self._lock_file = _lock_directory(self.path)
            try:
                storage = JournalStorage(
                    self.path, compact_min_bytes=compact_min_bytes, validate=validate
                )
            except BaseException:
                self._release_lock()
                raise
        self._db = _Database(storage=lambda: storage)
        self._storage = storage
        self._build_indexes()  # every record was checked by `_validate` as it was read

    @classmethod
    def repair(cls, path: str | os.PathLike[str]) -> Repaired:
        """Rewrite the store in `path` from every record that can be read, moving damaged
        journal lines and snapshot records to `threads.rejected` (appended to, never lost).

        A StoreError if the directory is in use or holds no store, or if writing fails.
        """
        directory = Path(path)
        if not (directory / SNAPSHOT_NAME).exists() and not (directory / JOURNAL_NAME).exists():
            raise StoreError(f"there is no store in {directory}")
        rejected: list[Rejected] = []
        with _boundary(f"repair the store in {directory}"):
            lock = _lock_directory(directory)
            try:
                storage = JournalStorage(directory, validate=validate, rejected=rejected)
                if rejected:
                    _append_rejected(directory / REJECTED_NAME, rejected)
                storage.rewrite()  # a fresh snapshot of what was kept, and a fresh journal
                storage.close()
            finally:
                lock.close()
        kept = {name: len(storage.table(name)) for name in (THREADS, MESSAGES, IDEMPOTENCY)}
        side = directory / REJECTED_NAME if rejected else None
        return Repaired(kept, len(rejected), side)

    @classmethod
    def memory(cls) -> TinyStore:
        """A store that keeps everything in memory (the test default)."""
        return cls(None)

    def __enter__(self) -> TinyStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- Threads -------------------------------------------------------------------------

    @_synchronized
    def create_thread(self, thread: ThreadRecord) -> None:
        """Store a new thread; a thread id already stored is a `StoreError`."""
        self.store_turn(thread, [])

    @_synchronized
    def get_thread(self, thread_id: str) -> ThreadRecord | None:
        """The thread with this id, or None."""
        doc_id = self._thread_docs.get(thread_id)
        if doc_id is None:
            return None
        doc = self._threads.doc(doc_id)
        return None if doc is None else thread_record(doc)

    @_synchronized
    def thread_for_session(self, node: str, session: str) -> ThreadRecord | None:
        """The newest thread of `node` created for this widget session, or None."""
        thread_id = self._sessions.get((node, session))
        return None if thread_id is None else self.get_thread(thread_id)

    @_synchronized
    def list_threads(self, node: str | None = None) -> list[ThreadRecord]:
        """Threads of `node` (every node if None), oldest first, then in creation order."""
        docs = sorted(self._table(THREADS), key=lambda doc: (doc["created_at"], doc.doc_id))
        return [thread_record(doc) for doc in docs if node is None or doc["node"] == node]

    @_synchronized
    def delete_thread(self, thread_id: str) -> bool:
        """Remove a thread and its messages in one write; False if there was no such thread."""
        doc_id = self._thread_docs.get(thread_id)
        thread = self.get_thread(thread_id)
        if doc_id is None or thread is None:
            return False
        message_ids = self._message_ids(thread_id)
        keys = self._thread_keys.get(thread_id, ())
        with self._writing("delete a thread"):
            # Messages, idempotency records and thread go in one journal line, so a crash
            # never orphans any. A key of a deleted thread would replay a turn that is gone.
            ops: list[Op] = [("del", MESSAGES, str(i)) for i in message_ids]
            ops += [("del", IDEMPOTENCY, str(self._idempotency[key])) for key in keys]
            self._commit([*ops, ("del", THREADS, str(doc_id))])
        for key in keys:
            del self._idempotency[key]
            del self._key_thread[key]
        self._unindex_thread(thread)
        return True

    # -- Turns ---------------------------------------------------------------------------

    @_synchronized
    def store_turn(
        self,
        thread: ThreadRecord | None,
        messages: Sequence[MessageRecord],
        idempotency: IdempotencyRecord | None = None,
    ) -> None:
        """Store a turn as one journal line: its new `thread` (None if the thread exists),
        its messages and its idempotency record. All of it is stored, or none of it: a
        failed write leaves no empty thread, and no turn without its idempotency record.
        """
        thread_docs = self._thread_docs
        if thread is not None and thread.id in thread_docs:
            raise StoreError(f"thread {thread.id!r} already exists")
        new = None if thread is None else thread.id
        for message in messages:
            if message.thread_id not in thread_docs and message.thread_id != new:
                raise ThreadNotFound(message.thread_id)
        with self._writing("store a turn"):
            # Fresh documents with fresh ids, written in one line: no table is read or copied.
            ops: list[Op] = []
            if thread is not None:
                [thread_id] = self._threads.new_ids(1)
                ops.append(("set", THREADS, str(thread_id), thread_doc(thread)))
            message_ids = self._messages.new_ids(len(messages))
            ops += [
                ("set", MESSAGES, str(doc_id), message_doc(message))
                for doc_id, message in zip(message_ids, messages, strict=True)
            ]
            if idempotency is not None:
                idempotency_id, idempotency_op = self._plan_idempotency(idempotency)
                ops.append(idempotency_op)
            self._commit(ops)
        if thread is not None:
            self._index_thread(thread, thread_id)
        for message, doc_id in zip(messages, message_ids, strict=True):
            self._index_message(message.thread_id, doc_id)
        if idempotency is not None:
            self._index_idempotency(idempotency.node, idempotency.key, idempotency.thread_id)
            self._idempotency[(idempotency.node, idempotency.key)] = idempotency_id

    # -- Messages ------------------------------------------------------------------------

    @_synchronized
    def append_messages(self, messages: Sequence[MessageRecord]) -> None:
        """Append a turn's messages as one journal line, in the OS before returning.

        Every message's thread must exist (`ThreadNotFound` otherwise, and nothing is written).
        """
        self.store_turn(None, messages)

    @_synchronized
    def messages(self, thread_id: str) -> list[MessageRecord]:
        """The thread's messages in the order they were appended."""
        return [message_record(doc) for doc in self._messages.docs(self._message_ids(thread_id))]

    @_synchronized
    def message_count(self, thread_id: str) -> int:
        """How many messages the thread has, without reading them."""
        short = self._few_messages.get(thread_id)
        if short is not None:
            return len(short) // _ID_BYTES
        return len(self._many_messages.get(thread_id, ()))

    # -- Idempotency ---------------------------------------------------------------------

    @_synchronized
    def get_idempotency(self, node: str, key: str) -> IdempotencyRecord | None:
        """The record stored for this node and idempotency key, or None."""
        doc_id = self._idempotency.get((node, key))
        if doc_id is None:
            return None
        doc = self._idempotencies.doc(doc_id)
        return None if doc is None else idempotency_record(doc)

    @_synchronized
    def put_idempotency(self, record: IdempotencyRecord) -> None:
        """Store the record, replacing any earlier one for the same node and key."""
        self.store_turn(None, [], record)

    # -- Whole store ---------------------------------------------------------------------

    @_synchronized
    def reset(self) -> None:
        """Forget everything, persistently (an empty snapshot replaces the files' contents)."""
        assert self._db is not None
        with self._writing("reset the store"):
            self._db.drop_tables()
        self._build_indexes()

    @_synchronized
    def compact(self) -> None:
        """Fold the journal into the snapshot now (it also happens on its own as it grows)."""
        with _boundary("compact the store"):
            self._storage.compact()

    @property
    def write_error(self) -> str | None:
        """Why the last write failed (a full disk, say), until a write succeeds; else None."""
        return self._write_error

    def close(self) -> None:
        """Close the files and release the directory. Safe to call twice."""
        with self._lock:
            if self._db is None:
                return
            db, self._db = self._db, None
            try:
                with _boundary("close the store"):
                    db.close()
            finally:
                self._release_lock()

    # -- Internals -----------------------------------------------------------------------

    def _table(self, name: str) -> JournaledTable:
        assert self._db is not None
        return cast(JournaledTable, self._db.table(name))

    def _writing(self, action: str) -> _Writing:
        """`_boundary` for writes, keeping `write_error` for health to report."""
        return _Writing(self, action)

    def _commit(self, ops: list[Op]) -> None:
        """Write `ops` (their documents fresh: the storage keeps them) as one journal line."""
        self._storage.apply(ops)
        for table in self._tables:  # TinyDB's query caches, if anything ever queried
            table.changed()

    def _plan_idempotency(self, record: IdempotencyRecord) -> tuple[int, Op]:
        doc_id = self._idempotency.get((record.node, record.key))
        if doc_id is None:
            [doc_id] = self._idempotencies.new_ids(1)
        return doc_id, ("set", IDEMPOTENCY, str(doc_id), idempotency_doc(record))

    def _build_indexes(self) -> None:
        # TinyDB makes new table objects after `drop_tables` (reset): look them up again.
        self._threads = self._table(THREADS)
        self._messages = self._table(MESSAGES)
        self._idempotencies = self._table(IDEMPOTENCY)
        self._tables = (self._threads, self._messages, self._idempotencies)
        self._thread_docs: dict[str, int] = {}
        self._sessions: dict[tuple[str, str], str] = {}
        # A thread's message ids, packed as C integers: in a bytes object while they are few
        # (most threads), in an array beyond. Neither dict holds an object the garbage
        # collector visits, but for the few long threads' arrays: a full collection's cost
        # does not grow with the number of threads (issue 10).
        self._few_messages: dict[str, bytes] = {}
        self._many_messages: dict[str, array[int]] = {}
        self._idempotency: dict[tuple[str, str], int] = {}
        self._key_thread: dict[tuple[str, str], str] = {}  # deleted with their thread
        self._thread_keys: dict[str, _Keys] = {}
        # The stored documents, decoding only the fields each index needs.
        for key, doc in self._storage.table(THREADS).items():
            self._index_thread_keys(*thread_keys(doc), int(key))
        # Ids are allocated in increasing order and dicts keep insertion order, so this
        # iteration lists each thread's messages in the order they were appended.
        for key, doc in self._storage.table(MESSAGES).items():
            self._index_message(message_thread(doc), int(key))
        for key, doc in self._storage.table(IDEMPOTENCY).items():
            node, idempotency_key, thread_id = idempotency_keys(doc)
            self._idempotency[(node, idempotency_key)] = int(key)
            self._index_idempotency(node, idempotency_key, thread_id)

    def _index_message(self, thread_id: str, doc_id: int) -> None:
        few = self._few_messages
        ids = few.get(thread_id)
        if ids is None:
            many = self._many_messages.get(thread_id)
            if many is not None:
                many.append(doc_id)
            else:
                few[thread_id] = _pack_id(doc_id)
        elif len(ids) < _FEW_ID_BYTES:
            few[thread_id] = ids + _pack_id(doc_id)  # a copy of at most a few dozen bytes
        else:
            many = self._many_messages[thread_id] = array("q", ids)
            many.append(doc_id)
            del few[thread_id]

    def _message_ids(self, thread_id: str) -> Sequence[int]:
        """The thread's message ids, in the order they were appended."""
        few = self._few_messages.get(thread_id)
        if few is not None:
            return memoryview(few).cast("q")
        return self._many_messages.get(thread_id, ())

    def _index_idempotency(self, node: str, key: str, thread_id: str | None) -> None:
        pair = (node, key)
        old = self._key_thread.pop(pair, None)
        keys = self._thread_keys
        if old is not None and old in keys:
            keys[old] = _without_key(keys[old], pair)
        if thread_id is not None:
            self._key_thread[pair] = thread_id
            keys[thread_id] = _with_key(keys.get(thread_id), pair)

    def _index_thread(self, thread: ThreadRecord, doc_id: int) -> None:
        self._index_thread_keys(thread.id, thread.node, thread.session, doc_id)

    def _index_thread_keys(
        self, thread_id: str, node: str, session: str | None, doc_id: int
    ) -> None:
        self._thread_docs[thread_id] = doc_id
        if session is not None:
            self._sessions[(node, session)] = thread_id

    def _unindex_thread(self, thread: ThreadRecord) -> None:
        del self._thread_docs[thread.id]
        self._few_messages.pop(thread.id, None)
        self._many_messages.pop(thread.id, None)
        self._thread_keys.pop(thread.id, None)
        if thread.session is not None:
            key = (thread.node, thread.session)
            if self._sessions.get(key) == thread.id:
                del self._sessions[key]

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the file drops the flock
            self._lock_file = None


# A thread's message ids in a bytes object up to this many, then in an array('q').
_FEW_IDS = 16
_ID_BYTES = 8
_FEW_ID_BYTES = _FEW_IDS * _ID_BYTES
_pack_id = struct.Struct("=q").pack  # native order, as array("q") and memoryview.cast("q")

# A thread's idempotency keys: a tuple while they are few (a tuple of strings is soon untracked
# by the garbage collector, and a turn on a new thread with a key adds no tracked object),
# then a set, so adding one stays O(1).
_Keys = tuple[tuple[str, str], ...] | set[tuple[str, str]]
_FEW_KEYS = 8


def _with_key(keys: _Keys | None, pair: tuple[str, str]) -> _Keys:
    if keys is None:
        return (pair,)
    if isinstance(keys, set):
        keys.add(pair)
        return keys
    if pair in keys:
        return keys
    return (*keys, pair) if len(keys) < _FEW_KEYS else {*keys, pair}


def _without_key(keys: _Keys, pair: tuple[str, str]) -> _Keys:
    if isinstance(keys, set):
        keys.discard(pair)
        return keys
    return tuple(k for k in keys if k != pair)


class Repaired(msgspec.Struct, frozen=True):
    """What `TinyStore.repair` did: records kept per table, pieces moved aside, and where."""

    kept: dict[str, int]
    moved: int
    side_file: Path | None


def _append_rejected(path: Path, rejected: Sequence[Rejected]) -> None:
    # Written (and fsynced) before the store is rewritten without them: nothing is lost.
    with open(path, "ab") as handle:
        handle.writelines(piece.to_json() for piece in rejected)
        handle.flush()
        os.fsync(handle.fileno())


def _lock_directory(path: Path) -> IO[bytes]:
    path.mkdir(parents=True, exist_ok=True)
    handle = open(path / LOCK_NAME, "ab")  # noqa: SIM115 - held open until close()
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StoreError(f"{path} is in use by another emulator store") from None
    return handle
