"""A damaged journal: `emulator serve` refuses in one line naming the file and line and the way
out; `emulator repair` keeps every good record and moves the bad ones aside; an emptied journal
starts with a warning. (A torn last line: tests/core/test_store.py and the SIGKILL tests.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.core.journal import JOURNAL_NAME, SNAPSHOT_NAME
from emulator.core.store import StoreError, TinyStore
from tests.core.test_store import thread, turn
from tests.e2e.server import run_cli

CONFIG = "version: 1\nnodes:\n  a: {api: interlocute, model: echo}\n"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A store of two threads, three turns, each turn one journal line (lines 4 to 6)."""
    (tmp_path / "nodes.yaml").write_text(CONFIG)
    with TinyStore(tmp_path / "data") as store:
        store.create_thread(thread("thr_1", node="a"))
        store.create_thread(thread("thr_2", node="a"))
        for n in (1, 2):
            store.append_messages(turn("thr_1", n))
        store.append_messages(turn("thr_2", 1))
    return tmp_path / "data"


def damage(journal: Path, number: int, change: Callable[[bytes], bytes]) -> None:
    """Rewrite line `number` of the journal; every other byte stays."""
    lines = journal.read_bytes().split(b"\n")
    lines[number - 1] = change(lines[number - 1])
    journal.write_bytes(b"\n".join(lines))


def serve_refusal(data: Path) -> str:
    result = run_cli(["serve", "--port", "0", "--data", str(data)], cwd=data.parent)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Listening" not in result.stdout  # refused before claiming to serve
    [line] = result.stderr.strip().splitlines()
    return line


def test_a_garbled_line_refuses_serve_until_repair_moves_it_aside(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = data / JOURNAL_NAME
    damage(journal, 5, lambda line: line[:30] + b"\x00garbled" + line[40:])

    refusal = serve_refusal(data)
    assert f"{journal}:5: not a journal entry" in refusal
    assert f"emulator repair --data {data}" in refusal

    assert main(["repair", "--data", str(data)]) == 0
    said = capsys.readouterr().out
    assert "kept 2 threads, 4 messages" in said
    assert f"moved 1 damaged piece to {data / 'threads.rejected'}" in said
    [moved] = (data / "threads.rejected").read_text().splitlines()
    assert json.loads(moved)["line"] == 5
    assert "garbled" in json.loads(moved)["text"]

    with TinyStore(data) as store:  # serves again, every good turn kept
        assert [m.id for m in store.messages("thr_1")] == ["msg_thr_1_1u", "msg_thr_1_1a"]
        assert store.message_count("thr_2") == 2
    assert main(["repair", "--data", str(data)]) == 0
    assert "nothing was damaged" in capsys.readouterr().out


def test_a_bad_record_is_reported_in_the_journal_not_the_snapshot(data: Path) -> None:
    journal = data / JOURNAL_NAME
    damage(journal, 2, lambda line: line.replace(b'"node":"a"', b'"node":7'))
    with pytest.raises(StoreError) as refused:
        TinyStore(data)
    assert f"{journal}:2: bad threads record 1: 'node' has the wrong type" in str(refused.value)
    assert SNAPSHOT_NAME not in str(refused.value)


def test_an_emptied_journal_without_a_snapshot_starts_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / JOURNAL_NAME).write_bytes(b"")
    with TinyStore(tmp_path) as store:
        assert store.list_threads() == []
    assert f"{tmp_path / JOURNAL_NAME} is empty and there is no {SNAPSHOT_NAME}" in caplog.text
    caplog.clear()
    with TinyStore(tmp_path / "new"):  # a new directory is not a warning
        pass
    assert caplog.text == ""


def test_repair_refuses_a_store_in_use_and_a_missing_one(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with TinyStore(data):
        assert main(["repair", "--data", str(data)]) == 1
    assert "in use by another emulator store" in capsys.readouterr().err
    assert main(["repair", "--data", str(data.parent / "nothing")]) == 1
    assert "there is no store in" in capsys.readouterr().err
