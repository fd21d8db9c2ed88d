"""The store's files: their format, how they are parsed and checked, how they are written.

A store directory holds:

- `threads.json`: the snapshot, `{"format", "version", "generation", "journalOffset"?,
  "tables"}`. With `journalOffset`, it holds every change of journal `generation` up to that
  byte (a snapshot taken while the journal kept growing); without it, the whole journal of
  that generation is still to be replayed.
- `threads.journal`: a header line `{"format", "version", "generation"}`, then one line per
  batch, `{"ops": [["set", table, doc_id, doc] | ["del", table, doc_id], ...]}`.
- `threads.rejected`: what `emulator repair` moved aside, one JSON object per line.

In memory, a stored document is held whole as its encoded JSON, a `msgspec.Raw` (`encoded`),
and decoded (`loads`) when it is read, so every reader gets fresh objects. A table is then a
dict of str to Raw: CPython never tracks such a dict in the garbage collector (a dict is
tracked only once a value of a GC type is put in it), so a full collection never visits a
stored document however large the store grows (issue 10). msgspec writes a Raw verbatim, so
the files are the same bytes as if the documents were dicts.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Literal, cast

import msgspec

SNAPSHOT_NAME: Final = "threads.json"
JOURNAL_NAME: Final = "threads.journal"
REJECTED_NAME: Final = "threads.rejected"
FORMAT: Final = "chat-api-emulator/store"
VERSION: Final = 1
# Documents per json.dumps call while a snapshot is written: small enough that the thread
# writing it lets go of the GIL often (the event loop keeps running), big enough to be fast.
_CHUNK: Final = 256

Tables = dict[str, dict[str, Any]]  # decoded: what TinyDB reads and writes
Docs = dict[str, msgspec.Raw]  # a table as memory holds it: doc id -> encoded document
RawTables = dict[str, Docs]
# A "set" op's document is a JSON object, or one encoded already (`encoded`).
Op = (
    tuple[Literal["set"], str, str, Mapping[str, Any] | msgspec.Raw]
    | tuple[Literal["del"], str, str]
)
# Says what is wrong with a document of a table, or None when it is fine.
Validator = Callable[[str, Any], str | None]


class CorruptStoreFile(Exception):
    """A store file exists but cannot be trusted; nothing was dropped or rewritten.

    `line` is the journal line (1-based) when the damage is in one.
    """

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.reason = reason
        self.line = line


class Rejected(msgspec.Struct, frozen=True):
    """A damaged piece of a store file, as `emulator repair` moves it aside."""

    file: str
    reason: str
    line: int | None = None  # the journal line
    text: str | None = None  # the raw bytes, for a line or a file that does not parse
    table: str | None = None  # a snapshot document that parses but is not a valid record
    doc_id: str | None = None
    doc: Any = None

    def to_json(self) -> bytes:
        fields = {k: getattr(self, k) for k in self.__struct_fields__}
        return dumps({k: v for k, v in fields.items() if v is not None}) + b"\n"


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
Raw = msgspec.Raw


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON. It never holds a raw newline, so one value is one line.

    msgspec, not the standard library: every turn is encoded once, and every stored value
    is decoded as it is read, and msgspec does both several times faster. Both escape
    control characters and write non-ASCII as UTF-8; msgspec writes a NaN float as null,
    which json.dumps would have written as `NaN`, a token that is not JSON at all.
    """
    try:
        return _encode(value)
    except TypeError as exc:  # the standard library's words, which errors have always used
        raise TypeError(f"not JSON serializable: {exc}") from None


def loads(data: bytes) -> Any:
    """`dumps` undone. What msgspec refuses (an integer beyond its range, or a `NaN` that an
    older version wrote) is read by the standard library instead."""
    try:
        return _decode(data)
    except msgspec.DecodeError:
        return json.loads(memoryview(data).tobytes() if type(data) is Raw else data)


def encoded(doc: object) -> Raw:
    """`doc` as memory holds it: its JSON, which a replay of the files would decode to the
    same value (a NaN float is null, a tuple a list). A TypeError (from `dumps`) if it is not
    JSON."""
    return Raw(dumps(doc))


def header(generation: int, journal_offset: int | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"format": FORMAT, "version": VERSION, "generation": generation}
    if journal_offset is not None:
        value["journalOffset"] = journal_offset
    return value


def header_line(generation: int) -> bytes:
    return dumps(header(generation)) + b"\n"


# -- Reading --------------------------------------------------------------------------------


class _Snapshot(msgspec.Struct):
    """A snapshot with each document left encoded: decoded one at a time as it is checked,
    the whole file never becomes objects all at once (and leaves no holes in the heap)."""

    format: Any = None
    version: Any = None
    generation: Any = None
    journalOffset: Any = None  # the file's own name
    tables: dict[str, dict[str, Raw]] | None = None


_decode_snapshot = msgspec.json.Decoder(_Snapshot).decode


def parse_snapshot(path: Path, raw: bytes) -> tuple[int, int | None, Tables]:
    """Generation, journal offset (or None) and tables of a snapshot file. Each document is
    a `msgspec.Raw` slice of `raw` (or, for a file msgspec cannot take as it is, a decoded
    value): decode it with `loads`."""
    try:
        value = _decode_snapshot(raw)
    except msgspec.MsgspecError:  # damage, or JSON only the standard library reads
        return _parse_snapshot(path, raw)
    head = {k: getattr(value, k) for k in ("format", "version", "generation", "journalOffset")}
    generation = check_header(path, head)
    offset = _offset(path, value.journalOffset)
    if value.tables is None:
        raise CorruptStoreFile(path, "'tables' is not an object of objects")
    return generation, offset, cast(Tables, value.tables)


def _parse_snapshot(path: Path, raw: bytes) -> tuple[int, int | None, Tables]:
    try:
        value = loads(raw)
    except ValueError as exc:
        raise CorruptStoreFile(path, f"not valid JSON ({exc})") from exc
    generation = check_header(path, value)
    offset = _offset(path, value.get("journalOffset"))
    tables = value.get("tables")
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise CorruptStoreFile(path, "'tables' is not an object of objects")
    return generation, offset, tables


def _offset(path: Path, offset: Any) -> int | None:
    if offset is not None and (not isinstance(offset, int) or offset < 0):
        raise CorruptStoreFile(path, f"bad journalOffset {offset!r}")
    return offset


def parse_header(path: Path, line: bytes) -> int:
    try:
        value = loads(line)
    except ValueError as exc:
        raise CorruptStoreFile(path, f"header is not valid JSON ({exc})", 1) from exc
    return check_header(path, value)


def check_header(path: Path, value: Any) -> int:
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise CorruptStoreFile(path, f"not a {FORMAT} file")
    if value.get("version") != VERSION:
        raise CorruptStoreFile(path, f"unsupported version {value.get('version')!r}")
    generation = value.get("generation")
    if not isinstance(generation, int) or generation < 0:
        raise CorruptStoreFile(path, f"bad generation {generation!r}")
    return generation


def parse_line(path: Path, number: int, line: bytes, validate: Validator) -> list[Any]:
    """The ops of one complete journal line, their documents `encoded`; a line that does not
    parse, or that would store an invalid record, is damage (not a torn write): refuse to
    guess."""
    try:
        ops = loads(line)["ops"]
        if not isinstance(ops, list):
            raise TypeError("'ops' is not a list")
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptStoreFile(path, f"not a journal entry ({exc})", number) from exc
    for op in ops:
        problem = _op_problem(op, validate)
        if problem is not None:
            raise CorruptStoreFile(path, problem, number)
    for op in ops:
        if op[0] == "set":
            op[3] = encoded(op[3])
    return ops


def _op_problem(op: Any, validate: Validator) -> str | None:
    if type(op) is not list or len(op) < 3 or type(op[1]) is not str or type(op[2]) is not str:
        return "malformed journal op"
    if op[0] == "set" and len(op) == 4 and type(op[3]) is dict:
        problem = validate(op[1], op[3])
        return None if problem is None else f"bad {op[1]} record {op[2]}: {problem}"
    if op[0] == "del" and len(op) == 3:
        return None
    return "malformed journal op"


def lines_with_offsets(raw: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, line) of each complete line; a torn last piece is left out."""
    offset = 0
    for number in itertools.count(1):
        end = raw.find(b"\n", offset)
        if end < 0:
            return
        yield number, offset, raw[offset:end]
        offset = end + 1


# -- Writing --------------------------------------------------------------------------------


def fsync_dir(directory: Path) -> None:
    # Makes a rename durable on POSIX; directories cannot be opened this way on Windows.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_snapshot(path: Path, head: dict[str, Any], tables: RawTables) -> int:
    """Write a snapshot atomically (temp file, fsync, rename, fsync of the directory), a few
    hundred documents per encoding call; returns its size.

    `tables` may change while it is written (compaction writes the live tables from its own
    thread): each table is copied once (one call in C, so the copy is the table as it stood
    at one moment) and the copy written. The journal lines from before that moment on,
    replayed over the snapshot, settle every key to its last value.

    Copying, listing and slicing the documents are C loops: no Python code runs per document,
    so a compaction holds the GIL, which the server's requests need, as little as it can.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(dumps(head)[:-1] + b',"tables":{')
            for index, (name, docs) in enumerate(list(tables.items())):
                handle.write(b"," * (index > 0) + dumps(name) + b":{")
                items = list(dict(docs).items())
                for start in range(0, len(items), _CHUNK):
                    chunk = dumps(dict(items[start : start + _CHUNK]))[1:-1]
                    handle.write(b"," * (start > 0) + chunk)
                handle.write(b"}")
            handle.write(b"}}")
            handle.flush()
            os.fsync(handle.fileno())
            size = handle.tell()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return size


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
