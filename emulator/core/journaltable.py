"""A TinyDB table whose inserts, keyed upserts and keyed removals each write one journal line
through `emulator.core.journal.JournalStorage`, in O(batch) instead of TinyDB's O(table)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tinydb.storages import Storage
from tinydb.table import Document, Table

from emulator.core.journal import JournalStorage
from emulator.core.storefiles import Op

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
