"""Config: the YAML the server runs; an error is shown at its line; a fix takes effect live."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CONFIG, Console


@pytest.fixture
def restore_config(console: Console) -> Iterator[None]:
    yield
    httpx.put(
        f"{console.server.url}/_emulator/config",
        content=CONFIG,
        headers={"X-Emulator-Client": "pytest"},
    )


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), 1) if needle in line)


@pytest.mark.usefixtures("restore_config")
def test_an_error_is_shown_at_its_line_and_a_fix_takes_effect(console: Console) -> None:
    nodes_page = console.page.context.new_page()  # another tab, left open on Nodes
    nodes_page.goto(console.url("#nodes"))
    expect(nodes_page.locator("#node-slow h2")).to_contain_text("Slow Echo")

    page = console.open("#config")
    editor = page.get_by_label("nodes.yaml")
    expect(editor).to_have_value(CONFIG)
    generation = httpx.get(f"{console.server.url}/_emulator/health").json()["generation"]
    expect(page.locator("#config-meta")).to_contain_text(f"generation {generation}")

    broken = CONFIG.replace("    name: Slow Echo", "    nmae: Slow Echo")
    line = _line_of(broken, "nmae: Slow Echo")
    editor.fill(broken)
    page.get_by_role("button", name="Save and apply").click()
    error = page.locator(f'#config-errors li[data-line="{line}"]')
    expect(error).to_contain_text(f"line {line}")
    expect(error).to_contain_text("nmae")
    expect(page.locator(f'#config-gutter .bad[data-line="{line}"]')).to_be_visible()
    console.screenshot("config-error")

    editor.fill(CONFIG.replace("    name: Slow Echo", "    name: Slower Echo"))
    page.get_by_role("button", name="Save and apply").click()
    expect(page.locator("#config-state")).to_contain_text("Applied")
    expect(page.locator("#config-errors li")).to_have_count(0)
    expect(page.locator("#config-meta")).to_contain_text(f"generation {generation + 1}")
    health = httpx.get(f"{console.server.url}/_emulator/health").json()
    assert health["generation"] == generation + 1
    # The other tab picks the change up by itself; so does this one's Nodes tab.
    expect(nodes_page.locator("#node-slow h2")).to_contain_text("Slower Echo")
    page.get_by_role("link", name="Nodes", exact=True).click()
    expect(page.locator("#node-slow h2")).to_contain_text("Slower Echo")


def test_an_error_in_the_file_on_disk_is_shown_at_file_line_col(console: Console) -> None:
    page = console.open("#config")
    alert = page.locator("#config-error")
    expect(page.get_by_label("nodes.yaml")).to_have_value(CONFIG)
    expect(alert).to_be_hidden()
    path = console.server.config
    assert path is not None
    broken = CONFIG.replace("    name: Slow Echo", "    nmae: Slow Echo")
    line = _line_of(broken, "nmae: Slow Echo")
    try:
        path.write_text(broken, encoding="utf-8")  # the server reloads it on save, and refuses it
        expect(alert).to_contain_text(f"{path}:{line}:5")
        expect(alert).to_contain_text("nmae")
        expect(page.locator("#server-status")).to_contain_text("config error")
    finally:
        path.write_text(CONFIG, encoding="utf-8")
    expect(alert).to_be_hidden()
    expect(page.locator("#server-status")).not_to_contain_text("config error")
