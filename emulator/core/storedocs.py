"""Store records as TinyDB documents and back, and the check each document passes as the
store's files are read. Plain functions.

Documents are frozen (`emulator.core.storefiles.frozen`): a message's `extra` and an
idempotency record's `payload` are held as `msgspec.Raw`, and each reader decodes a fresh copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.core.records import IdempotencyRecord, MessageRecord, ThreadRecord
from emulator.core.storefiles import Raw, dumps, thaw

__all__ = [
    "IDEMPOTENCY",
    "MESSAGES",
    "THREADS",
    "idempotency_doc",
    "idempotency_record",
    "message_doc",
    "message_record",
    "thread_doc",
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


def thread_doc(thread: ThreadRecord) -> dict[str, Any]:
    return {
        "id": thread.id,
        "node": thread.node,
        "api": thread.api,
        "created_at": thread.created_at,
        "session": thread.session,
    }


def thread_record(doc: Mapping[str, Any]) -> ThreadRecord:
    return ThreadRecord(
        id=doc["id"],
        node=doc["node"],
        api=doc["api"],
        created_at=doc["created_at"],
        session=doc.get("session"),
    )


def message_doc(message: MessageRecord) -> dict[str, Any]:
    return {
        "id": message.id,
        "thread_id": message.thread_id,
        "role": message.role,
        "content": message.content,
        "created_at": message.created_at,
        "extra": _raw(message.extra),
    }


def message_record(doc: Mapping[str, Any]) -> MessageRecord:
    # Decoded afresh: callers get values they may change without changing the store.
    return MessageRecord(
        id=doc["id"],
        thread_id=doc["thread_id"],
        role=doc["role"],
        content=doc["content"],
        created_at=doc["created_at"],
        extra=thaw(doc["extra"]),
    )


def idempotency_doc(record: IdempotencyRecord) -> dict[str, Any]:
    return {
        "node": record.node,
        "key": record.key,
        "fingerprint": record.fingerprint,
        "payload": _raw(record.payload),
        "thread_id": record.thread_id,
    }


def idempotency_record(doc: Mapping[str, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        node=doc["node"],
        key=doc["key"],
        fingerprint=doc["fingerprint"],
        payload=thaw(doc["payload"]),
        thread_id=doc.get("thread_id"),
    )


def _raw(value: Mapping[str, Any]) -> Raw:
    """A record's JSON object, encoded: a TypeError (from `dumps`) if it is not JSON."""
    return Raw(dumps(value if type(value) is dict else dict(value)))
