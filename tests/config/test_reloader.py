"""The node diff behind a reload's log line and result: pure logic, no server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from emulator.config.loader import parse_config
from emulator.config.reloader import Changes, Reloader, diff_nodes
from emulator.core.engine import Engine
from emulator.core.store import TinyStore
from tests.conftest import TEST_CONFIG


def diff(before: str, after: str) -> Changes:
    return diff_nodes(parse_config(before, "a.yaml"), parse_config(after, "a.yaml"))


def test_the_same_nodes_written_lower_in_the_file_are_unchanged() -> None:
    changes = diff(TEST_CONFIG, "\n# moved\n\n" + TEST_CONFIG)
    assert not changes and changes.summary() == "no node changes"


def test_equal_regexes_compare_equal_and_different_ones_do_not() -> None:
    assert not diff(TEST_CONFIG, TEST_CONFIG)
    changed = diff(TEST_CONFIG, TEST_CONFIG.replace("order (ORD-", "order #(ORD-"))
    assert changed == Changes(changed=("support",))


def test_added_removed_changed_in_one_summary() -> None:
    after = TEST_CONFIG.replace("  anykey:", "  any-key:").replace("Echo", "Echo Two")
    changes = diff(TEST_CONFIG, after)
    assert changes.summary() == "added any-key; removed anykey; changed echo"
    assert changes.to_dict() == {"added": ["any-key"], "removed": ["anykey"], "changed": ["echo"]}


def test_reordering_is_a_change_without_node_changes() -> None:
    head, slow = TEST_CONFIG.split("  slow:")
    slow_first = head.replace("nodes:\n", "nodes:\n  slow:" + slow, 1)
    changes = diff(TEST_CONFIG, slow_first)
    assert changes and changes.summary() == "nodes reordered"


def test_a_changed_fixture_is_checked_and_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    good, bad, gone = fixtures / "good.yaml", fixtures / "bad.yaml", fixtures / "gone.yaml"
    good.write_text("conversations: [{turns: [{message: hi, reply: hello}]}]\n")
    bad.write_text("conversations: [{turns: []}]\n")
    temporary = fixtures / ".good.yaml.x1.tmp"  # the recorder's atomic write: not a fixture
    reloader = Reloader(Engine(parse_config(TEST_CONFIG), TinyStore(None)), None, fixtures=fixtures)
    with caplog.at_level(logging.INFO, logger="emulator"):
        asyncio.run(reloader.changed({str(p) for p in (good, bad, gone, temporary)}))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"fixture bad.yaml cannot be replayed:\n{bad}:1:17: "
            "a conversation needs at least one turn",
        ),
        ("INFO", "fixture removed: gone.yaml"),
        ("INFO", "fixture changed: good.yaml"),
    ]
