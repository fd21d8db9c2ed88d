"""What the store keeps: threads, messages and idempotency records, as plain values (frozen
msgspec Structs: a turn makes three, and a Struct is made in a tenth of a frozen dataclass's
time; msgspec encodes one exactly as it encoded the dataclass, field by field in order)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import msgspec


class ThreadRecord(msgspec.Struct, frozen=True):
    id: str
    node: str  # node alias
    api: str
    created_at: str  # ISO 8601, UTC
    session: str | None = None  # widget sessionId that owns this thread


class MessageRecord(msgspec.Struct, frozen=True):
    id: str
    thread_id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: str
    extra: Mapping[str, Any] = {}  # model, usage, sources, request id (a fresh dict each)


class IdempotencyRecord(msgspec.Struct, frozen=True):
    node: str
    key: str
    fingerprint: str  # "METHOD /path digest-of-the-parsed-body"
    payload: Mapping[str, Any]  # JSON-able; what is needed to replay the response
    thread_id: str | None = None  # the turn's thread: deleting the thread deletes the record


class Store(Protocol):
    """Persistence seam. Implementations: `emulator.core.store.TinyStore` (file or memory)."""

    def create_thread(self, thread: ThreadRecord) -> None: ...
    def get_thread(self, thread_id: str) -> ThreadRecord | None: ...
    def thread_for_session(self, node: str, session: str) -> ThreadRecord | None: ...
    def list_threads(self, node: str | None = None) -> list[ThreadRecord]: ...
    def append_messages(self, messages: Sequence[MessageRecord]) -> None:
        """Append a turn's messages in one atomic, durable write."""

    def store_turn(
        self,
        thread: ThreadRecord | None,
        messages: Sequence[MessageRecord],
        idempotency: IdempotencyRecord | None = None,
    ) -> None:
        """Store a new thread (or None), a turn's messages and its idempotency record in
        one atomic, durable write: all of them or none."""

    @property
    def write_error(self) -> str | None:
        """Why the last write failed, until one succeeds (health reports it); else None."""

    def messages(self, thread_id: str) -> list[MessageRecord]: ...
    def message_count(self, thread_id: str) -> int: ...
    def delete_thread(self, thread_id: str) -> bool: ...
    def get_idempotency(self, node: str, key: str) -> IdempotencyRecord | None: ...
    def put_idempotency(self, record: IdempotencyRecord) -> None: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...
