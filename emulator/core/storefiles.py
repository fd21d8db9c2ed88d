"""The store's files: their format, how they are parsed and checked, how they are written.

A store directory holds:

- `threads.json`: the snapshot, `{"format", "version", "generation", "journalOffset"?,
  "tables"}`. With `journalOffset`, it holds every change of journal `generation` up to that
  byte (a snapshot taken while the journal kept growing); without it, the whole journal of
  that generation is still to be replayed.
- `threads.journal`: a header line `{"format", "version", "generation"}`, then one line per
  batch, `{"ops": [["set", table, doc_id, doc] | ["del", table, doc_id], ...]}`.
- `threads.rejected`: what `emulator repair` moved aside, one JSON object per line.

In memory, a stored document is "frozen" (`frozen`, `freeze`): a flat dict whose nested JSON
values (objects, arrays) are held as `msgspec.Raw`, their encoded JSON. Such a dict holds no
object the garbage collector tracks, so a large store adds nothing to the cost of a full
collection, and nothing in it can be changed in place. msgspec writes a Raw verbatim, so the
files are the same bytes as if the values were dicts and lists; `thaw` decodes one back.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

SNAPSHOT_NAME: Final = "threads.json"
JOURNAL_NAME: Final = "threads.journal"
REJECTED_NAME: Final = "threads.rejected"
FORMAT: Final = "chat-api-emulator/store"
VERSION: Final = 1
# Documents per json.dumps call while a snapshot is written: small enough that the thread
# writing it lets go of the GIL often (the event loop keeps running), big enough to be fast.
_CHUNK: Final = 256

Tables = dict[str, dict[str, Any]]
Op = tuple[Literal["set"], str, str, dict[str, Any]] | tuple[Literal["del"], str, str]
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


@dataclass(frozen=True, slots=True)
class Rejected:
    """A damaged piece of a store file, as `emulator repair` moves it aside."""

    file: str
    reason: str
    line: int | None = None  # the journal line
    text: str | None = None  # the raw bytes, for a line or a file that does not parse
    table: str | None = None  # a snapshot document that parses but is not a valid record
    doc_id: str | None = None
    doc: Any = None

    def to_json(self) -> bytes:
        fields = {k: getattr(self, k) for k in self.__slots__}
        return dumps({k: v for k, v in fields.items() if v is not None}) + b"\n"


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
Raw = msgspec.Raw
# The values a frozen document holds as they are: immutable, and never tracked by the GC.
_FLAT: Final = frozenset({str, int, bool, type(None), Raw})


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


def frozen(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` as memory keeps it: itself if it is flat already, else a new dict whose nested
    values are `msgspec.Raw` (and any other value what a replay of its JSON would give).
    A TypeError (from `dumps`) if a value is not JSON."""
    if _FLAT.issuperset(map(type, doc.values())):
        return doc
    return {key: value if type(value) in _FLAT else _frozen(value) for key, value in doc.items()}


def freeze(doc: dict[str, Any]) -> None:
    """`frozen`, in place: for a document just decoded from a file, which nothing else holds."""
    for key, value in doc.items():
        if type(value) not in _FLAT:
            doc[key] = _frozen(value)  # replacing values while iterating is allowed


def thaw(value: Any) -> Any:
    """A stored value as a fresh object: a Raw decoded (a new dict or list each time, so a
    caller changing it never changes the store); any other value is immutable already."""
    return loads(value) if type(value) is Raw else value


def _frozen(value: Any) -> Any:
    encoded = dumps(value)
    if type(value) is dict or type(value) is list or type(value) is tuple:
        return Raw(encoded)
    # Anything else as a replay of its JSON gives it: a NaN float is null, a str subclass a str.
    thawed = loads(encoded)
    return Raw(encoded) if type(thawed) is dict or type(thawed) is list else thawed


def header(generation: int, journal_offset: int | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"format": FORMAT, "version": VERSION, "generation": generation}
    if journal_offset is not None:
        value["journalOffset"] = journal_offset
    return value


def header_line(generation: int) -> bytes:
    return dumps(header(generation)) + b"\n"


# -- Reading --------------------------------------------------------------------------------


def parse_snapshot(path: Path, raw: bytes) -> tuple[int, int | None, Tables]:
    """Generation, journal offset (or None) and tables of a snapshot file."""
    try:
        value = loads(raw)
    except ValueError as exc:
        raise CorruptStoreFile(path, f"not valid JSON ({exc})") from exc
    generation = check_header(path, value)
    offset = value.get("journalOffset")
    if offset is not None and (not isinstance(offset, int) or offset < 0):
        raise CorruptStoreFile(path, f"bad journalOffset {offset!r}")
    tables = value.get("tables")
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise CorruptStoreFile(path, "'tables' is not an object of objects")
    return generation, offset, tables


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
    """The ops of one complete journal line, their documents frozen; a line that does not
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
            freeze(op[3])
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


def write_snapshot(path: Path, head: dict[str, Any], tables: Tables) -> int:
    """Write a snapshot atomically (temp file, fsync, rename, fsync of the directory), a few
    hundred documents per encoding call; returns its size.

    `tables` may change while it is written (compaction writes the live tables from its own
    thread): each table's keys are listed once, and each document is read when its chunk is
    encoded. Documents are never changed in place, so each one is written whole, as it was at
    some moment after the listing; the journal lines from before the listing on, replayed over
    the snapshot, settle every key to its last value (a "fuzzy" snapshot).
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(dumps(head)[:-1] + b',"tables":{')
            for index, (name, docs) in enumerate(list(tables.items())):
                handle.write(b"," * (index > 0) + dumps(name) + b":{")
                keys = list(docs)
                first = True
                for start in range(0, len(keys), _CHUNK):
                    found = ((key, docs.get(key)) for key in keys[start : start + _CHUNK])
                    chunk = {key: doc for key, doc in found if doc is not None}
                    if chunk:
                        handle.write(b"," * (not first) + dumps(chunk)[1:-1])
                        first = False
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
