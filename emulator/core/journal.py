"""TinyDB storage that persists as a snapshot plus an append-only journal.

TinyDB's stock `JSONStorage` rewrites the whole file on every write, and `Table.insert` goes
through `_update_table`, which rebuilds the whole table dict. Both make one append cost O(n).
Here the data lives in memory; `JournalStorage.apply` writes one JSON line per batch of
changes; `emulator.core.journaltable.JournaledTable` routes inserts, keyed upserts and keyed
removals through it.
Everything else TinyDB does (`truncate`, `update` by query, `drop_tables`) ends in
`Storage.write`, which saves a full snapshot: correct, just not O(1). The files' format is in
`emulator.core.storefiles`.

Each stored document is held whole as a `msgspec.Raw`, its encoded JSON (see
`emulator.core.storefiles`), encoded once as it is read from the files or given to `apply`:
a table is a dict of str to Raw, which the garbage collector never tracks, so a full
collection never visits the stored documents. The journal line and the snapshot write those
Raws verbatim. TinyDB's generic `read` and `write` see decoded documents (O(n), for its
rare whole-table operations); `table` gives the Raw documents of one table.

Lines are written with unbuffered `os.write`, so a returned `apply` survives a killed
process, but not a power cut: appends are not fsynced. Snapshots are (temp file, fsync,
rename, fsync of the directory).

Compaction runs on a thread, so neither the event loop nor writers wait for it. It notes
the journal's length N, then writes the live tables as a snapshot "needing journal generation
G from byte N on" while appends go on (a fuzzy snapshot: stored documents are never changed
in place, and replaying ops that assign by key settles every key; see `write_snapshot`).
Then it rebases the journal: generation G+1 holds only the lines after byte N; writers wait
just for the last few lines to be copied and a rename.

A journal older than the snapshot is stale: the process died after a full snapshot replaced
the old one but before the journal was reset, so the snapshot already holds every change in
it (or a reset deliberately dropped them). Ops assign values by key, so replaying a line twice
is harmless anyway.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from tinydb.storages import Storage

from emulator.core.storefiles import (
    JOURNAL_NAME,
    SNAPSHOT_NAME,
    CorruptStoreFile,
    Docs,
    Op,
    Raw,
    RawTables,
    Rejected,
    Tables,
    Validator,
    dumps,
    encoded,
    header,
    header_line,
    lines_with_offsets,
    loads,
    parse_header,
    parse_line,
    parse_snapshot,
    write_all,
    write_atomically,
    write_snapshot,
)

__all__ = [
    "JOURNAL_NAME",
    "SNAPSHOT_NAME",
    "CorruptStoreFile",
    "JournalStorage",
    "Op",
]

log = logging.getLogger(__name__)

# Below this size the journal is never compacted: replaying 1 MiB at start-up is instant,
# and small stores then never pay for a snapshot.
DEFAULT_COMPACT_MIN_BYTES: Final = 1 << 20
_COPY_BYTES: Final = 1 << 20


def _accept_all(table: str, doc: Any) -> str | None:
    return None


class JournalStorage(Storage):
    """Keeps TinyDB's data in memory; persists it to `directory` (or nowhere if None).

    `validate` checks each stored document as the files are read. With `rejected` (a list),
    the files are only read, never changed, and damage is listed there instead of raised:
    `emulator repair` then decides what to write.
    """

    def __init__(
        self,
        directory: Path | None,
        *,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
        validate: Validator = _accept_all,
        rejected: list[Rejected] | None = None,
    ) -> None:
        super().__init__()
        self.directory = directory
        self._compact_min = compact_min_bytes
        self._validate = validate
        self._rejected = rejected
        self._data: RawTables = {}
        self._generation = 0  # the journal's
        self._snapshot_bytes = 0
        self._journal_bytes = 0
        self._covered = 0  # journal bytes the snapshot already holds
        self._fd: int | None = None
        # Guards the journal's fd, length and generation against the compaction thread.
        self._io = threading.Lock()
        self._compactor: threading.Thread | None = None
        self._compact_error: BaseException | None = None
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
        """Every table, decoded: fresh objects (TinyDB's `_update_table` changes what it read
        before it calls `write`, and memory must not change unless the write goes through).
        O(n): for TinyDB's rare whole-table operations; per request, use `table`."""
        return {name: _decoded(docs) for name, docs in self._data.items()}

    def write(self, data: Tables) -> None:
        """Replace the whole state: a full snapshot, and a fresh journal. A TypeError (and
        nothing changed) if a document is not JSON."""
        self._check_writable()
        tables = {
            name: {str(doc_id): _kept(doc) for doc_id, doc in docs.items()}
            for name, docs in data.items()
        }
        self._wait_for_compaction()
        if self.directory is not None:
            self._save_snapshot(tables)
        self._data = tables

    def rewrite(self) -> None:
        """A full snapshot of what memory holds, and a fresh journal (`write` without decoding
        and encoding every document)."""
        self._check_writable()
        self._wait_for_compaction()
        if self.directory is not None:
            self._save_snapshot(self._data)

    def close(self) -> None:
        self._wait_for_compaction()
        with self._io:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    # -- The O(1) path -------------------------------------------------------------------

    def apply(self, ops: Sequence[Op]) -> None:
        """Apply `ops` as one journal line, so a batch is all there or not at all.

        Each document is encoded once into a `msgspec.Raw` (or kept as given if it is one):
        the line writes it verbatim and memory keeps it, so memory equals what a replay of the
        line would produce, and nothing a caller holds is shared with the store. A TypeError
        (and nothing written) if a document is not JSON.
        """
        self._check_writable()
        kept = [_kept_op(op) for op in ops]
        if self.directory is not None:  # in memory only, there is no line to write
            line = dumps({"ops": kept}) + b"\n"
            with self._io:
                self._append_line(line)
        self._replay(kept)
        if self._fd is not None and self._journal_bytes - self._covered > max(
            self._snapshot_bytes, self._compact_min
        ):
            self._start_compaction()

    def table(self, name: str) -> Docs:
        """The live documents of table `name`, encoded, by id (an empty dict if it has none
        yet): for lookups only (decode one with `storefiles.loads`); changing the dict would
        change memory but not the files."""
        return self._data.get(name) or {}

    def compact(self) -> None:
        """Fold the journal into a new snapshot now, and wait for it (raises its error)."""
        self._check_writable()
        if self.directory is None:
            return
        self._wait_for_compaction()
        self._compact_error = None
        self._start_compaction()
        self._wait_for_compaction()
        error, self._compact_error = self._compact_error, None
        if error is not None:
            raise error

    # -- Compaction, on a thread ----------------------------------------------------------

    def _start_compaction(self) -> None:
        if self._compactor is not None and self._compactor.is_alive():
            return
        # No copy: the thread writes the live tables (see `write_snapshot`), and the snapshot
        # says it needs the journal from this offset on. Writers do not wait for anything.
        generation, offset = self._generation, self._journal_bytes
        self._compactor = threading.Thread(
            target=self._compact, args=(self._data, generation, offset), name="store-compaction"
        )
        self._compactor.start()

    def _wait_for_compaction(self) -> None:
        compactor = self._compactor
        if compactor is not None and compactor is not threading.current_thread():
            compactor.join()

    def _compact(self, tables: RawTables, generation: int, offset: int) -> None:
        assert self.directory is not None
        try:
            self._snapshot_bytes = write_snapshot(
                self.directory / SNAPSHOT_NAME, header(generation, offset), tables
            )
            self._covered = offset
            self._rebase_journal(generation, offset)
        except Exception as exc:  # on a thread: report, back off, never lose the error
            self._compact_error = exc
            log.warning("store compaction failed, will retry later: %s", exc)
            # Back off so a full disk does not turn every append into a retry: the next try
            # waits until the uncovered journal has doubled (measured from what the snapshot
            # covers, which is what the trigger in `apply` compares).
            self._compact_min = max(self._compact_min, self._journal_bytes - self._covered) * 2

    def _rebase_journal(self, generation: int, offset: int) -> None:
        """Replace the journal by one of the next generation holding the lines after
        `offset` (the snapshot holds the rest)."""
        assert self.directory is not None
        path = self.directory / JOURNAL_NAME
        tmp = path.with_name(JOURNAL_NAME + ".tmp")
        head = header_line(generation + 1)
        try:
            with open(path, "rb") as source, open(tmp, "wb") as target:
                target.write(head)
                source.seek(offset)
                copied = offset + _copy(source, target, self._journal_bytes - offset)
                target.flush()
                os.fsync(target.fileno())
                with self._io:
                    if self._fd is None or self._generation != generation:
                        raise OSError("the store was closed or rewritten while compacting")
                    # The few lines appended since: writers wait only for these and a rename.
                    _copy(source, target, self._journal_bytes - copied)
                    target.flush()
                    # Opened before the rename: if opening fails, the old journal stays in
                    # use; appends never go to a file that is no longer the journal.
                    fd = os.open(tmp, os.O_WRONLY | os.O_APPEND)
                    try:
                        os.replace(tmp, path)
                    except OSError:
                        os.close(fd)
                        raise
                    os.close(self._fd)
                    self._fd = fd
                    self._generation = generation + 1
                    self._journal_bytes = len(head) + self._journal_bytes - offset
                    self._covered = len(head)
        finally:
            tmp.unlink(missing_ok=True)

    # -- Internals -----------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._broken is not None:
            raise OSError(f"store files are inconsistent after an earlier error: {self._broken}")

    def _append_line(self, line: bytes) -> None:
        if self._fd is None:  # never silently keep a change in memory only
            raise OSError(f"the journal in {self.directory} is not open")
        try:
            write_all(self._fd, line)
        except OSError as exc:
            # A half-written line would glue onto the next one; cut it off, or stop writing.
            try:
                os.ftruncate(self._fd, self._journal_bytes)
            except OSError:
                self._broken = exc
            raise
        self._journal_bytes += len(line)

    def _replay(self, ops: Iterable[Any]) -> None:
        for op in ops:
            if op[0] == "set":
                self._data.setdefault(op[1], {})[op[2]] = op[3]
            elif op[0] == "del":
                self._data.get(op[1], {}).pop(op[2], None)
            else:
                raise ValueError(f"unknown journal op {op[0]!r}")

    def _save_snapshot(self, data: RawTables) -> None:
        assert self.directory is not None
        generation = self._generation + 1
        size = write_snapshot(self.directory / SNAPSHOT_NAME, header(generation), data)
        # From here the journal on disk is stale; if resetting it fails, later appends to it
        # would be discarded at the next load, so the storage refuses them instead.
        try:
            self._reset_journal(generation)
        except OSError as exc:
            self._broken = exc
            raise
        self._snapshot_bytes = size

    def _reset_journal(self, generation: int) -> None:
        assert self.directory is not None
        path = self.directory / JOURNAL_NAME
        with self._io:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            head = header_line(generation)
            write_atomically(path, head)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            self._generation = generation
            self._journal_bytes = self._covered = len(head)

    def _reject(self, piece: Rejected, exc: CorruptStoreFile) -> None:
        if self._rejected is None:
            raise exc
        self._rejected.append(piece)

    # -- Loading ---------------------------------------------------------------------------

    def _load(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._rejected is None:
            for leftover in (SNAPSHOT_NAME, JOURNAL_NAME):
                (directory / (leftover + ".tmp")).unlink(missing_ok=True)
        snapshot = directory / SNAPSHOT_NAME
        offset: int | None = None
        self._snapshot_offset: int | None = None
        lost = False  # the snapshot is unreadable: repair keeps whatever the journal has
        if snapshot.exists():
            raw = snapshot.read_bytes()
            try:
                self._generation, offset, tables = parse_snapshot(snapshot, raw)
            except CorruptStoreFile as exc:
                text = raw.decode("utf-8", "backslashreplace")
                self._reject(Rejected(SNAPSHOT_NAME, exc.reason, text=text), exc)
                tables, lost = {}, True
            self._data = self._checked(snapshot, tables)
            self._snapshot_offset = offset
            self._snapshot_bytes = len(raw)
        self._load_journal(directory / JOURNAL_NAME, offset, snapshot.exists(), lost)

    def _checked(self, path: Path, tables: Tables) -> RawTables:
        """The snapshot's valid documents, encoded afresh; the others rejected."""
        kept: RawTables = {}
        for name, docs in tables.items():
            raws = kept[name] = {}
            for doc_id, value in docs.items():
                # Decoded one at a time: only one document is ever an object. Encoded again,
                # not kept as a slice of the file: memory holds what a replay would give
                # (the same bytes, for a file this store wrote), and not the whole file.
                doc = loads(value) if type(value) is Raw else value
                problem = self._validate(name, doc)
                if problem is None:
                    raws[doc_id] = encoded(doc)
                    continue
                reason = f"bad {name} record {doc_id}: {problem}"
                piece = Rejected(SNAPSHOT_NAME, reason, table=name, doc_id=doc_id, doc=doc)
                self._reject(piece, CorruptStoreFile(path, reason))
        return kept

    def _load_journal(self, path: Path, offset: int | None, has_snapshot: bool, lost: bool) -> None:
        raw = path.read_bytes() if path.exists() else b""
        lines = list(lines_with_offsets(raw))
        complete = lines[-1][1] + len(lines[-1][2]) + 1 if lines else 0
        if complete < len(raw):
            # No newline: a write the process did not finish. It was never acknowledged,
            # so it is dropped (and cut off below before anything is appended).
            log.warning(
                "%s: ignoring %d bytes of an unfinished last line", path, len(raw) - complete
            )
            reason = "unfinished last line (a write cut short, never acknowledged)"
            text = raw[complete:].decode("utf-8", "backslashreplace")
            if self._rejected is not None:
                self._rejected.append(Rejected(JOURNAL_NAME, reason, len(lines) + 1, text))
        if not lines:  # missing, empty, or only a torn header: nothing was acknowledged
            if path.exists() and not has_snapshot:
                log.warning(
                    "%s is empty and there is no %s: starting with no threads", path, SNAPSHOT_NAME
                )
            self._open_journal(path, None, self._generation, 0)
            return
        start = self._replay_from(path, lines[0][2], offset, lost)
        for number, position, line in lines[1:]:
            if start is None or position < start:
                continue
            try:
                self._replay(parse_line(path, number, line, self._validate))
            except CorruptStoreFile as exc:
                text = line.decode("utf-8", "backslashreplace")
                self._reject(Rejected(JOURNAL_NAME, exc.reason, number, text), exc)
        self._open_journal(path, start, self._generation, complete)

    def _replay_from(self, path: Path, first: bytes, offset: int | None, lost: bool) -> int | None:
        """The byte offset to replay the journal from, or None if it is stale. Sets the
        journal's generation."""
        try:
            generation = parse_header(path, first)
        except CorruptStoreFile as exc:
            self._reject(
                Rejected(JOURNAL_NAME, exc.reason, 1, first.decode("utf-8", "replace")), exc
            )
            return 0  # repair: keep every line that parses
        snapshot = self._generation
        if generation < snapshot and not lost:
            return None
        if generation == snapshot and offset is not None:
            return offset
        rebased = generation == snapshot + 1 and offset is not None
        if generation != snapshot and not (lost or rebased or self._rejected is not None):
            raise CorruptStoreFile(
                path,
                f"journal generation {generation} is newer than snapshot generation "
                f"{snapshot}; is {SNAPSHOT_NAME} missing or replaced?",
            )
        self._generation = generation
        return 0

    def _open_journal(self, path: Path, start: int | None, generation: int, complete: int) -> None:
        if self._rejected is not None:
            return  # repair decides what to write
        if start is None or complete == 0 or start > complete:
            # Stale, nothing acknowledged, or shorter than the snapshot says it holds (a power
            # cut): start afresh. After a snapshot that names a journal offset, the fresh
            # journal is of the next generation, which is replayed whole over it; at the same
            # generation, lines written before that offset would be skipped.
            self._reset_journal(generation + (self._snapshot_offset is not None))
            return
        if complete < path.stat().st_size:
            os.truncate(path, complete)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._journal_bytes = complete
        self._covered = max(start, len(header_line(generation)))


def _kept(doc: Any) -> Raw:
    return doc if type(doc) is Raw else encoded(doc)


def _kept_op(op: Op) -> Op:
    """`op` with its document encoded (itself when it is already)."""
    if op[0] != "set" or type(op[3]) is Raw:
        return op
    return ("set", op[1], op[2], encoded(op[3]))


def _decoded(docs: Docs) -> dict[str, Any]:
    return {doc_id: loads(doc) for doc_id, doc in docs.items()}


def _copy(source: Any, target: Any, size: int) -> int:
    """Copy `size` bytes from one open file to another; returns how many were copied."""
    done = 0
    while done < size:
        chunk = source.read(min(_COPY_BYTES, size - done))
        if not chunk:
            break
        target.write(chunk)
        done += len(chunk)
    return done
