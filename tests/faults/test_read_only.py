"""A read-only data directory (a real read-only bind mount): `emulator serve` refuses with one
clear line, no traceback, and leaves the files as they were."""

from __future__ import annotations

from pathlib import Path

from emulator.core.store import TinyStore
from tests.core.test_store import thread, turn
from tests.e2e.server import run_cli
from tests.faults.mounts import read_only

CONFIG = "version: 1\nnodes:\n  a: {api: interlocute, model: echo}\n"


def test_a_read_only_data_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "nodes.yaml").write_text(CONFIG)
    data = tmp_path / "data"
    with TinyStore(data) as store:
        store.create_thread(thread())
        store.append_messages(turn("thr_1", 1))
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    with read_only(data):
        result = run_cli(["serve", "--port", "0", "--data", str(data)], cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "Listening" not in result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"emulator: cannot open the data directory: cannot open the store in {data}"
    )
    assert "Read-only file system" in line
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before
