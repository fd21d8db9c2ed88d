"""A TinyDB table whose inserts, keyed upserts and keyed removals each write one journal line
through `emulator.core.journal.JournalStorage`, in O(batch) instead of TinyDB's O(table).

Its reads decode only the documents they return (the storage holds each one encoded), and
TinyDB's own reads (`search`, iteration, `get`) decode only this table, not every table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from tinydb.storages import Storage
from tinydb.table import Document, Table

from emulator.core.journal import JournalStorage
from emulator.core.storefiles import Op, loads

__all__ = ["JournaledTable"]


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
        self._last_id = max(map(int, storage.table(name)), default=0)
        self._queried = False  # whether TinyDB's query cache may hold anything

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
        table = self._journal.table(self.name)
        ids: list[int] = []
        ops: list[Op] = []
        for document in documents:
            if type(document) is not dict and not isinstance(document, Mapping):
                raise ValueError("Document is not a Mapping")
            doc_id = self._id_for(document)
            if str(doc_id) in table or doc_id in ids:
                raise ValueError(f"Document with ID {doc_id} already exists")
            ids.append(doc_id)
            ops.append(("set", self.name, str(doc_id), dict(document)))
        return ids, ops

    def new_ids(self, count: int) -> range:
        """`count` fresh document ids, for documents the caller writes itself (with other
        changes, in one `JournalStorage.apply`). An id planned but never written is skipped."""
        first = self._last_id + 1
        self._last_id += count
        return range(first, first + count)

    def doc(self, doc_id: int) -> dict[str, Any] | None:
        """The stored document with this id, decoded (a fresh copy), or None."""
        raw = self._journal.table(self.name).get(str(doc_id))
        return None if raw is None else loads(raw)

    def docs(self, doc_ids: Iterable[int]) -> list[dict[str, Any]]:
        """The stored documents with these ids, in that order, unknown ids skipped: decoded,
        fresh copies (`lookup` wraps them in TinyDB `Document`s)."""
        found = map(self._journal.table(self.name).get, map(str, doc_ids))
        return [loads(raw) for raw in found if raw is not None]

    def search(self, cond: Any) -> list[Document]:
        self._queried = True
        return super().search(cond)

    def changed(self) -> None:
        """Call after writing this table's documents through the storage directly: clears
        TinyDB's query cache (a no-op until a query was made)."""
        if self._queried:
            self.clear_cache()

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
        table = self._journal.table(self.name)
        removed = [doc_id for doc_id in doc_ids if str(doc_id) in table]
        self._commit([("del", self.name, str(doc_id)) for doc_id in removed])
        return removed

    def lookup(self, doc_ids: Iterable[int]) -> list[Document]:
        """The documents with these ids, in that order; unknown ids are skipped.

        TinyDB's `get(doc_ids=...)` scans the whole table; this does one lookup per id.
        """
        table = self._journal.table(self.name)
        found = ((doc_id, table.get(str(doc_id))) for doc_id in doc_ids)
        return [self.document_class(loads(raw), doc_id) for doc_id, raw in found if raw is not None]

    def __len__(self) -> int:
        return len(self._journal.table(self.name))

    def __iter__(self) -> Iterator[Document]:
        for doc_id, raw in list(self._journal.table(self.name).items()):
            yield self.document_class(loads(raw), self.document_id_class(doc_id))

    def _read_table(self) -> dict[str, Mapping[str, Any]]:
        # TinyDB's reads (search, get, contains) would decode every table through
        # `storage.read()`; this decodes this table only.
        return {doc_id: loads(raw) for doc_id, raw in self._journal.table(self.name).items()}

    def _id_for(self, document: Mapping[Any, Any]) -> int:
        if type(document) is not dict and isinstance(document, Document):
            self._last_id = max(self._last_id, document.doc_id)
            return document.doc_id
        self._last_id += 1
        return self._last_id

    def _commit(self, ops: Sequence[Op]) -> None:
        if ops:
            self._journal.apply(ops)
        self.changed()
