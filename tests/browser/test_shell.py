"""The console's shell: deep links, keyboard navigation, visible focus, labelled controls."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import Console

TABS = ["Nodes", "Playground", "Traffic", "Threads", "Config", "Chaos", "API reference"]


def test_every_tab_is_deep_linkable_and_reachable_by_keyboard(console: Console) -> None:
    page = console.open()
    expect(page.get_by_role("heading", name="Nodes", exact=True)).to_be_visible()
    for name in TABS:  # a deep link shows that tab, and only it
        anchor = page.get_by_role("navigation", name="Sections").get_by_role("link", name=name)
        page.goto(console.url(anchor.get_attribute("href") or ""))
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        expect(anchor).to_have_attribute("aria-current", "page")
        expect(page.locator(".view:not([hidden])")).to_have_count(1)

    page.goto(console.url("#nodes"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(10):  # Tab along the tabs until Traffic has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Traffic":
            break
    traffic = page.get_by_role("navigation", name="Sections").get_by_role("link", name="Traffic")
    expect(traffic).to_be_focused()
    shadow = traffic.evaluate("el => getComputedStyle(el).boxShadow")
    assert shadow and shadow != "none"  # focus is visible
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Traffic")).to_be_visible()
    assert page.url.endswith("#traffic")


def test_every_form_control_has_a_label(console: Console) -> None:
    page = console.open()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.id || el.outerHTML)"""
    )
    assert unlabelled == []


def test_no_tab_overflows_a_phone_screen(console: Console) -> None:
    page = console.open()
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("article.node")).to_have_count(6)  # drawn, with their long URLs
    nav = page.get_by_role("navigation", name="Sections")
    for name in TABS:
        nav.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 390, (name, width)  # wide tables and code scroll inside their own boxes
