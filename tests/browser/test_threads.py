"""Threads: list by node, open as a conversation, export, delete, reset all."""

from __future__ import annotations

import httpx
from playwright.sync_api import Dialog, expect

from tests.browser.conftest import Console

KEY = {"Authorization": "Bearer sk-support-123"}


def _chat(console: Console, node: str, text: str, **headers: str) -> str:
    response = httpx.post(
        f"{console.server.url}/nodes/{node}/chat", json={"content": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["threadId"])


def test_open_export_and_delete_a_thread(console: Console) -> None:
    thread = _chat(console, "support", "What are your hours?", **KEY)
    other = _chat(console, "slow", "hello slow")
    page = console.open("#threads")
    row = page.locator(f'tr[data-thread-id="{thread}"]')
    expect(row).to_be_visible()
    page.locator("#view-threads").get_by_label("Node", exact=True).select_option("slow")
    expect(row).to_be_hidden()
    expect(page.locator(f'tr[data-thread-id="{other}"]')).to_be_visible()
    page.locator("#view-threads").get_by_label("Node", exact=True).select_option("support")

    page.get_by_role("button", name=f"Open thread {thread}").click()
    detail = page.locator("#thread-detail")
    expect(detail.locator('.msg[data-role="user"] .text')).to_have_text("What are your hours?")
    expect(detail.locator('.msg[data-role="assistant"] .text')).to_have_text(
        "We are open 9 to 5, Monday to Friday."
    )
    export = page.get_by_role("link", name=f"Export thread {thread} as a fixture")
    href = export.get_attribute("href")
    assert href == f"/_emulator/threads/{thread}/fixture"
    fixture = httpx.get(console.server.url + href)
    assert fixture.status_code == 200 and "What are your hours?" in fixture.text
    console.screenshot("threads")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete thread {thread}").click()
    expect(row).to_have_count(0)
    expect(detail).to_be_hidden()
    assert httpx.get(f"{console.server.url}/_emulator/threads/{thread}").status_code == 404


def test_reset_everything_after_confirming(console: Console) -> None:
    thread = _chat(console, "slow", "keep me?")
    page = console.open("#threads")
    row = page.locator(f'tr[data-thread-id="{thread}"]')
    expect(row).to_be_visible()

    def dismiss(dialog: Dialog) -> None:
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Reset everything…").click()
    expect(row).to_be_visible()  # cancelled: nothing was forgotten
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset everything…").click()
    expect(page.locator("#threads-notice")).to_have_text("Everything was reset.")
    expect(page.locator("#threads-table tbody tr")).to_have_count(0)
    assert httpx.get(f"{console.server.url}/_emulator/threads").json()["threads"] == []
