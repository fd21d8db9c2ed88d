"""TinyDB on `JournalStorage` and `JournaledTable`: TinyDB's own generic operations (queries,
updates and removals by query, truncate, drop) stay correct although the storage keeps each
document encoded, and survive reopening."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinydb import Query, TinyDB

from emulator.core.journal import JournalStorage
from emulator.core.journaltable import JournaledTable


class _Database(TinyDB):
    table_class = JournaledTable


def _open(path: Path) -> _Database:
    return _Database(path, storage=JournalStorage)


DOCS = [{"n": n, "tags": ["a", "b"][: n % 3], "deep": {"n": [n]}} for n in range(1, 6)]


def test_generic_operations_are_kept_and_survive_reopening(tmp_path: Path) -> None:
    db = _open(tmp_path)
    items, other = db.table("items"), db.table("other")
    assert items.insert_multiple(DOCS) == [1, 2, 3, 4, 5]
    other.insert({"x": 1})
    q = Query()
    assert [d.doc_id for d in items.search(q.n > 3)] == [4, 5]
    assert items.update({"tags": ["z"]}, q.n == 2) == [2]  # by query: a full rewrite
    assert items.remove(q.deep.n.any([3])) == [3]
    assert items.get(doc_id=2) == {"n": 2, "tags": ["z"], "deep": {"n": [2]}}
    assert items.contains(doc_id=3) is False
    other.truncate()
    assert [d.doc_id for d in items.search(q.n > 3)] == [4, 5]  # the query cache was cleared
    assert items.insert({"n": 6}) == 6
    expected = {1: DOCS[0], 2: {**DOCS[1], "tags": ["z"]}, 4: DOCS[3], 5: DOCS[4], 6: {"n": 6}}
    for _ in range(2):  # as written, then as read back from the files
        items, other = db.table("items"), db.table("other")
        assert {d.doc_id: dict(d) for d in items} == expected
        assert len(items) == 5 and len(other) == 0
        assert items.count(q.n >= 5) == 2
        db.close()
        db = _open(tmp_path)
    db.drop_table("items")
    db.close()
    db = _open(tmp_path)
    assert len(db.table("items")) == 0
    assert db.table("items").insert({"n": 1}) == 1
    db.close()


def test_what_tinydb_reads_is_a_fresh_copy(tmp_path: Path) -> None:
    db = _open(tmp_path)
    items = db.table("items")
    items.insert_multiple(DOCS)
    items.all()[0]["deep"]["n"].append("changed")
    items.get(doc_id=2)["tags"].append("changed")  # type: ignore[index]
    db.storage.read()["items"]["3"]["n"] = "changed"
    items.search(Query().n == 4)[0]["n"] = "changed"
    assert [dict(d) for d in items] == DOCS
    db.close()
    assert [dict(d) for d in _open(tmp_path).table("items")] == DOCS


def test_a_write_of_what_is_not_json_changes_nothing(tmp_path: Path) -> None:
    db = _open(tmp_path)
    items = db.table("items")
    items.insert_multiple(DOCS)
    files = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    with pytest.raises(TypeError):
        items.update({"n": object()}, Query().n == 1)
    with pytest.raises(TypeError):
        items.insert({"n": object()})
    assert [dict(d) for d in items] == DOCS
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == files
    db.close()
