"""TinyDB storage and table that persist as a snapshot plus an append-only journal.

TinyDB's stock `JSONStorage` rewrites the whole file on every write, and `Table.insert` goes
through `_update_table`, which rebuilds the whole table dict. Both make one append cost O(n).
Here the data lives in memory; `JournalStorage.apply` writes one JSON line per batch of
changes, and `JournaledTable` routes inserts, keyed upserts and keyed removals through it.
Everything else TinyDB does (`truncate`, `update` by query, `drop_tables`) ends in
`Storage.write`, which saves a full snapshot: correct, just not O(1).

On disk, a store directory holds:

- `threads.json`: the snapshot, `{"format", "version", "generation", "tables"}`.
- `threads.journal`: a header line `{"format", "version", "generation"}`, then one line per
  batch, `{"ops": [["set", table, doc_id, doc] | ["del", table, doc_id], ...]}`.

A journal whose generation is older than the snapshot's is stale: the process died after the
new snapshot replaced the old one but before the journal was reset, so the snapshot already
holds every change in it (or a reset deliberately dropped them). Ops assign values by key, so
replaying a line twice is harmless anyway. Lines are written with unbuffered `os.write`, so a
returned `apply` survives a killed process, but not a power cut: appends are not fsynced.
Snapshots are (temp file, fsync, rename, fsync of the directory).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, cast

from tinydb.storages import Storage
from tinydb.table import Document, Table

__all__ = [
    "JOURNAL_NAME",
    "SNAPSHOT_NAME",
    "CorruptStoreFile",
    "JournalStorage",
    "JournaledTable",
    "Op",
]

log = logging.getLogger(__name__)

SNAPSHOT_NAME: Final = "threads.json"
JOURNAL_NAME: Final = "threads.journal"
FORMAT: Final = "chat-api-emulator/store"
VERSION: Final = 1
# Below this size the journal is never compacted: replaying 1 MiB at start-up is instant,
# and small stores then never pay for a snapshot.
DEFAULT_COMPACT_MIN_BYTES: Final = 1 << 20

Tables = dict[str, dict[str, Any]]
Op = tuple[Literal["set"], str, str, dict[str, Any]] | tuple[Literal["del"], str, str]


class CorruptStoreFile(Exception):
    """A store file exists but cannot be trusted; nothing was dropped or rewritten."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _dumps(value: object) -> bytes:
    # No indent: json.dumps then never emits a raw newline, so one value is one line.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _header(generation: int) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "generation": generation}


def _fsync_dir(directory: Path) -> None:
    # Makes a rename durable on POSIX; directories cannot be opened this way on Windows.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class JournalStorage(Storage):
    """Keeps TinyDB's data in memory; persists it to `directory` (or nowhere if None)."""

    def __init__(
        self, directory: Path | None, *, compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES
    ) -> None:
        super().__init__()
        self.directory = directory
        self._compact_min = compact_min_bytes
        self._data: Tables = {}
        self._generation = 0
        self._snapshot_bytes = 0
        self._journal_bytes = 0
        self._fd: int | None = None
        # Set when the files may no longer match memory; every later write refuses.
        self._broken: BaseException | None = None
        if directory is not None:
            self._load(directory)

    @property
    def snapshot_path(self) -> Path | None:
        return None if self.directory is None else self.directory / SNAPSHOT_NAME

    @property
    def journal_path(self) -> Path | None:
        return None if self.directory is None else self.directory / JOURNAL_NAME

    # -- TinyDB's Storage interface ------------------------------------------------------

    def read(self) -> Tables:
        # A shallow copy: TinyDB's `_update_table` assigns into the dict it read before it
        # calls `write`, and memory must not change unless the write goes through.
        return dict(self._data)

    def write(self, data: Tables) -> None:
        """Replace the whole state: a full snapshot, and a fresh journal."""
        self._check_writable()
        if self.directory is not None:
            self._save_snapshot(data)
        self._data = data

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- The O(1) path -------------------------------------------------------------------

    def apply(self, ops: Sequence[Op]) -> None:
        """Apply `ops` as one journal line, so a batch is all there or not at all.

        The docs stored in memory are decoded from the very bytes written, so memory always
        equals what a replay would produce, and callers' objects are never aliased.
        """
        self._check_writable()
        line = _dumps({"ops": list(ops)}) + b"\n"
        decoded = json.loads(line)["ops"]
        if self._fd is not None:
            self._append_line(line)
        self._replay(decoded)
        if self._fd is not None and self._journal_bytes > max(
            self._snapshot_bytes, self._compact_min
        ):
            self._compact_after_append()

    def compact(self) -> None:
        """Fold the journal into a new snapshot now."""
        self.write(self._data)

    # -- Internals -----------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._broken is not None:
            raise OSError(f"store files are inconsistent after an earlier error: {self._broken}")

    def _append_line(self, line: bytes) -> None:
        assert self._fd is not None
        try:
            _write_all(self._fd, line)
        except OSError as exc:
            # A half-written line would glue onto the next one; cut it off, or stop writing.
            try:
                os.ftruncate(self._fd, self._journal_bytes)
            except OSError:
                self._broken = exc
            raise
        self._journal_bytes += len(line)

    def _compact_after_append(self) -> None:
        # The line is already durable; a failed compaction must not fail the append.
        try:
            self._save_snapshot(self._data)
        except OSError as exc:
            log.warning("store compaction failed, will retry later: %s", exc)
            # Back off so a full disk does not turn every append into an O(n) retry.
            self._compact_min = max(self._compact_min, self._journal_bytes) * 2

    def _replay(self, ops: Iterable[Any]) -> None:
        for op in ops:
            if op[0] == "set":
                self._data.setdefault(op[1], {})[op[2]] = op[3]
            elif op[0] == "del":
                self._data.get(op[1], {}).pop(op[2], None)
            else:
                raise ValueError(f"unknown journal op {op[0]!r}")

    def _save_snapshot(self, data: Tables) -> None:
        assert self.directory is not None
        generation = self._generation + 1
        snapshot = _dumps({**_header(generation), "tables": data})
        _write_atomically(self.directory / SNAPSHOT_NAME, snapshot)
        # From here the journal on disk is stale; if resetting it fails, later appends to it
        # would be discarded at the next load, so the storage refuses them instead.
        try:
            self._reset_journal(generation)
        except OSError as exc:
            self._broken = exc
            raise
        self._snapshot_bytes = len(snapshot)

    def _reset_journal(self, generation: int) -> None:
        assert self.directory is not None
        self.close()
        header = _dumps(_header(generation)) + b"\n"
        path = self.directory / JOURNAL_NAME
        _write_atomically(path, header)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._generation = generation
        self._journal_bytes = len(header)

    def _load(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in (SNAPSHOT_NAME, JOURNAL_NAME):
            (directory / (leftover + ".tmp")).unlink(missing_ok=True)
        snapshot = directory / SNAPSHOT_NAME
        if snapshot.exists():
            raw = snapshot.read_bytes()
            self._generation, self._data = _parse_snapshot(snapshot, raw)
            self._snapshot_bytes = len(raw)
        self._load_journal(directory / JOURNAL_NAME)

    def _load_journal(self, path: Path) -> None:
        raw = path.read_bytes() if path.exists() else b""
        *lines, torn = raw.split(b"\n")
        # The last piece has no newline: a write the process did not finish. It was never
        # acknowledged, so it is dropped (and cut off below before anything is appended).
        if torn:
            log.warning("%s: ignoring %d bytes of an unfinished last line", path, len(torn))
        if not lines:  # missing, empty, or only a torn header: nothing was acknowledged
            self._reset_journal(self._generation)
            return
        generation = _parse_header(path, lines[0])
        if generation < self._generation:
            self._reset_journal(self._generation)  # stale: see the module docstring
            return
        if generation > self._generation:
            raise CorruptStoreFile(
                path,
                f"journal generation {generation} is newer than snapshot generation "
                f"{self._generation}; is {SNAPSHOT_NAME} missing or replaced?",
            )
        for number, line in enumerate(lines[1:], start=2):
            self._replay(_parse_line(path, number, line))
        self._journal_bytes = len(raw) - len(torn)
        if torn:
            os.truncate(path, self._journal_bytes)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)


def _parse_snapshot(path: Path, raw: bytes) -> tuple[int, Tables]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise CorruptStoreFile(path, f"not valid JSON ({exc})") from exc
    generation = _check_header(path, value)
    tables = value.get("tables")
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise CorruptStoreFile(path, "'tables' is not an object of objects")
    return generation, tables


def _parse_header(path: Path, line: bytes) -> int:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise CorruptStoreFile(path, f"line 1: header is not valid JSON ({exc})") from exc
    return _check_header(path, value)


def _check_header(path: Path, value: Any) -> int:
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise CorruptStoreFile(path, f"not a {FORMAT} file")
    if value.get("version") != VERSION:
        raise CorruptStoreFile(path, f"unsupported version {value.get('version')!r}")
    generation = value.get("generation")
    if not isinstance(generation, int) or generation < 0:
        raise CorruptStoreFile(path, f"bad generation {generation!r}")
    return generation


def _parse_line(path: Path, number: int, line: bytes) -> list[Any]:
    # A complete line that does not parse is damage, not a torn write: refuse to guess.
    try:
        ops = json.loads(line)["ops"]
        valid = isinstance(ops, list) and all(_valid_op(op) for op in ops)
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptStoreFile(path, f"line {number}: not a journal entry ({exc})") from exc
    if not valid:
        raise CorruptStoreFile(path, f"line {number}: malformed journal op")
    return cast(list[Any], ops)


def _valid_op(op: Any) -> bool:
    if not isinstance(op, list) or len(op) < 3:
        return False
    if not (isinstance(op[1], str) and isinstance(op[2], str)):
        return False
    if op[0] == "set":
        return len(op) == 4 and isinstance(op[3], dict)
    return op[0] == "del" and len(op) == 3


class JournaledTable(Table):
    """A TinyDB table whose inserts, keyed upserts and keyed removals cost O(batch).

    It needs a `JournalStorage`. Document ids are allocated monotonically from the largest
    id present when the table object is made (one scan), so insertion order is id order.
    """

    def __init__(
        self,
        storage: Storage,
        name: str,
        cache_size: int = Table.default_query_cache_capacity,
        persist_empty: bool = False,
    ) -> None:
        if not isinstance(storage, JournalStorage):
            raise TypeError("JournaledTable needs a JournalStorage")
        super().__init__(storage, name, cache_size=cache_size, persist_empty=persist_empty)
        self._journal = storage
        self._last_id = max((int(key) for key in self._read_table()), default=0)

    def insert(self, document: Mapping[Any, Any]) -> int:
        return self.insert_multiple([document])[0]

    def insert_multiple(self, documents: Iterable[Mapping[Any, Any]]) -> list[int]:
        ids, ops = self.plan_inserts(documents)
        self._commit(ops)
        return ids

    def plan_inserts(self, documents: Iterable[Mapping[Any, Any]]) -> tuple[list[int], list[Op]]:
        """Ids and journal ops that would insert `documents`; nothing is written.

        Lets a caller write inserts into several tables as one `JournalStorage.apply`. An id
        planned but never written is simply skipped.
        """
        table = self._read_table()
        ids: list[int] = []
        ops: list[Op] = []
        for document in documents:
            if not isinstance(document, Mapping):
                raise ValueError("Document is not a Mapping")
            doc_id = self._id_for(document)
            if str(doc_id) in table or doc_id in ids:
                raise ValueError(f"Document with ID {doc_id} already exists")
            ids.append(doc_id)
            ops.append(("set", self.name, str(doc_id), dict(document)))
        return ids, ops

    def upsert(self, document: Mapping[Any, Any], cond: Any = None) -> list[int]:
        if cond is None and isinstance(document, Document):
            # Keyed: replace (or create) exactly that document, no table scan.
            self._last_id = max(self._last_id, document.doc_id)
            self._commit([("set", self.name, str(document.doc_id), dict(document))])
            return [document.doc_id]
        return super().upsert(document, cond)

    def remove(self, cond: Any = None, doc_ids: Iterable[int] | None = None) -> list[int]:
        if doc_ids is None:
            return super().remove(cond)
        table = self._read_table()
        removed = [doc_id for doc_id in doc_ids if str(doc_id) in table]
        self._commit([("del", self.name, str(doc_id)) for doc_id in removed])
        return removed

    def lookup(self, doc_ids: Iterable[int]) -> list[Document]:
        """The documents with these ids, in that order; unknown ids are skipped.

        TinyDB's `get(doc_ids=...)` scans the whole table; this does one lookup per id.
        """
        table = self._read_table()
        found = ((doc_id, table.get(str(doc_id))) for doc_id in doc_ids)
        return [self.document_class(doc, doc_id) for doc_id, doc in found if doc is not None]

    def _id_for(self, document: Mapping[Any, Any]) -> int:
        if isinstance(document, Document):
            self._last_id = max(self._last_id, document.doc_id)
            return document.doc_id
        self._last_id += 1
        return self._last_id

    def _commit(self, ops: Sequence[Op]) -> None:
        if ops:
            self._journal.apply(ops)
        self.clear_cache()
