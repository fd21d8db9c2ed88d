"""Store records as TinyDB documents and back, and the check each document passes as the
store's files are read. Plain functions.

A record is stored encoded (`msgspec.Raw`, see `emulator.core.storefiles`): `*_doc` encodes
one straight from its dataclass (msgspec writes a dataclass's fields in order, the same bytes
as the dict of them), `*_record` builds one from a decoded document, which is a fresh copy, so
a caller changing a record's `extra` or `payload` never changes the store. The `*_keys`
functions decode only the fields an index needs, for building the indexes at open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import msgspec.structs

from emulator.core.records import IdempotencyRecord, MessageRecord, ThreadRecord
from emulator.core.storefiles import Raw, encoded

__all__ = [
    "IDEMPOTENCY",
    "MESSAGES",
    "THREADS",
    "idempotency_doc",
    "idempotency_keys",
    "idempotency_record",
    "message_doc",
    "message_record",
    "message_thread",
    "thread_doc",
    "thread_keys",
    "thread_record",
    "validate",
]

THREADS = "threads"
MESSAGES = "messages"
IDEMPOTENCY = "idempotency"

_RECORD_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    THREADS: {"id": str, "node": str, "api": str, "created_at": str, "session": (str, type(None))},
    MESSAGES: {
        "id": str,
        "thread_id": str,
        "role": str,
        "content": str,
        "created_at": str,
        "extra": dict,
    },
    IDEMPOTENCY: {"node": str, "key": str, "fingerprint": str, "payload": dict},
}
_CHECKS = {table: (tuple(f), tuple(f.values())) for table, f in _RECORD_FIELDS.items()}


def validate(table: str, doc: Any) -> str | None:
    """What makes `doc` unusable as a record of `table`, or None: checked as files are read,
    so a bad record is reported at its file and line, not later as a crash."""
    check = _CHECKS.get(table)
    if check is None:
        return None
    names, kinds = check
    # One pass in C for the common case: every record of a large store is checked at start.
    if all(map(isinstance, map(doc.get, names), kinds)):
        return None
    for name, kind in zip(names, kinds, strict=True):
        if not isinstance(doc.get(name), kind):
            return f"{name!r} has the wrong type" if name in doc else f"no {name!r}"
    return None


def thread_doc(thread: ThreadRecord) -> Raw:
    """The thread as stored: `{"id", "node", "api", "created_at", "session"}`, encoded."""
    return encoded(thread)


def thread_record(doc: Mapping[str, Any]) -> ThreadRecord:
    return ThreadRecord(
        id=doc["id"],
        node=doc["node"],
        api=doc["api"],
        created_at=doc["created_at"],
        session=doc.get("session"),
    )


def message_doc(message: MessageRecord) -> Raw:
    """The message as stored: `{"id", "thread_id", "role", "content", "created_at",
    "extra"}`, encoded. A TypeError (from `dumps`) if `extra` is not JSON."""
    if type(message.extra) is not dict:  # msgspec encodes a dict, not any Mapping
        message = msgspec.structs.replace(message, extra=dict(message.extra))
    return encoded(message)


def message_record(doc: Mapping[str, Any]) -> MessageRecord:
    return MessageRecord(
        id=doc["id"],
        thread_id=doc["thread_id"],
        role=doc["role"],
        content=doc["content"],
        created_at=doc["created_at"],
        extra=doc["extra"],
    )


def idempotency_doc(record: IdempotencyRecord) -> Raw:
    """The record as stored: `{"node", "key", "fingerprint", "payload", "thread_id"}`,
    encoded. A TypeError (from `dumps`) if `payload` is not JSON."""
    if type(record.payload) is not dict:
        record = msgspec.structs.replace(record, payload=dict(record.payload))
    return encoded(record)


def idempotency_record(doc: Mapping[str, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        node=doc["node"],
        key=doc["key"],
        fingerprint=doc["fingerprint"],
        payload=doc["payload"],
        thread_id=doc.get("thread_id"),
    )


# Only what the indexes need: msgspec skips the other fields without building them. Every
# document was validated as the files were read (or written by `*_doc`).
class _ThreadKeys(msgspec.Struct):
    id: str
    node: str
    session: str | None = None


class _MessageThread(msgspec.Struct):
    thread_id: str


class _IdempotencyKeys(msgspec.Struct):
    node: str
    key: str
    thread_id: Any = None  # not validated: any other value names no thread


_thread_keys = msgspec.json.Decoder(_ThreadKeys).decode
_message_thread = msgspec.json.Decoder(_MessageThread).decode
_idempotency_keys = msgspec.json.Decoder(_IdempotencyKeys).decode


def thread_keys(doc: Raw) -> tuple[str, str, str | None]:
    """A stored thread's id, node and session."""
    keys = _thread_keys(doc)
    return keys.id, keys.node, keys.session


def message_thread(doc: Raw) -> str:
    """A stored message's thread id."""
    return _message_thread(doc).thread_id


def idempotency_keys(doc: Raw) -> tuple[str, str, str | None]:
    """A stored idempotency record's node, key and thread id."""
    keys = _idempotency_keys(doc)
    thread_id = keys.thread_id
    return keys.node, keys.key, thread_id if type(thread_id) is str else None
