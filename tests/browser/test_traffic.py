"""Traffic: requests made elsewhere appear live; an entry opens with headers, body and frames."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Console

KEY = {"Authorization": "Bearer sk-support-123"}


def test_a_request_made_elsewhere_appears_without_a_reload(console: Console) -> None:
    page = console.open("#traffic")
    expect(page.locator("#traffic-live")).to_have_text("live")
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    response = httpx.post(
        f"{console.server.url}/nodes/support/chat/stream",
        json={"content": "What are your hours?"},
        headers={**KEY, "X-Request-Id": request_id},
    )
    assert response.status_code == 200
    row = page.locator(f'#traffic-table tr[data-request-id="{request_id}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("POST")
    expect(row).to_contain_text("/nodes/support/chat/stream")
    expect(row).to_contain_text("support")
    expect(row).to_contain_text("200")

    row.click()
    detail = page.locator("#traffic-detail")
    expect(detail).to_contain_text(request_id)
    expect(detail.locator('[data-part="request-body"]')).to_contain_text("What are your hours?")
    expect(detail).not_to_contain_text("sk-support-123")  # credentials are redacted
    frames = detail.locator('[data-part="frames"] tbody tr')
    expect(frames.first).to_contain_text("event: start")
    expect(frames.last).to_contain_text("event: done")
    assert "#traffic/" in page.url  # deep-linkable
    console.screenshot("traffic")


def test_filters_by_node_and_status(console: Console) -> None:
    page = console.open("#traffic")
    expect(page.locator("#traffic-live")).to_have_text("live")
    ok_id, bad_id = f"ok-{uuid.uuid4().hex[:8]}", f"bad-{uuid.uuid4().hex[:8]}"
    url = console.server.url
    for node, request_id in (("slow", ok_id), ("support", bad_id)):
        httpx.post(
            f"{url}/nodes/{node}/chat", json={"content": "hi"}, headers={"X-Request-Id": request_id}
        )
    ok = page.locator(f'tr[data-request-id="{ok_id}"]')
    bad = page.locator(f'tr[data-request-id="{bad_id}"]')
    expect(ok).to_be_visible()
    expect(bad).to_contain_text("401")
    ok.focus()  # rows open from the keyboard too
    page.keyboard.press("Enter")
    expect(page.locator("#traffic-detail")).to_contain_text(ok_id)
    page.get_by_label("Status").select_option("4")
    expect(ok).to_be_hidden()
    expect(bad).to_be_visible()
    page.get_by_label("Status").select_option("")
    page.locator("#view-traffic").get_by_label("Node", exact=True).select_option("slow")
    expect(ok).to_be_visible()
    expect(bad).to_be_hidden()
