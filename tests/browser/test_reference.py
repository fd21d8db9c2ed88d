"""API reference: the OpenAPI document renders offline, with every other origin blocked."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import SCREENS, Console


def test_the_api_reference_renders_with_nothing_from_another_origin(console: Console) -> None:
    page = console.open("#reference")
    expect(page.get_by_role("heading", name="API reference")).to_be_visible()
    embedded = page.frame_locator('iframe[title="API reference"]')
    expect(embedded.get_by_text("/chat/stream").first).to_be_visible()
    console.screenshot("reference")
    with page.expect_popup() as popup_info:
        page.get_by_role("link", name="Open the API reference").click()
    schema = popup_info.value
    # Rendered, not blank: the document's title and a chat endpoint are on the page.
    expect(schema.get_by_text("chat-api-emulator").first).to_be_visible()
    expect(schema.get_by_text("/chat/stream").first).to_be_visible()
    schema.set_viewport_size({"width": 1280, "height": 800})
    schema.screenshot(path=str(SCREENS / "schema-desktop.png"))
    schema.close()
    # The console fixture fails the test if any request left the emulator's origin.
