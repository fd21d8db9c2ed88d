"""Chaos: runtime faults, latency and rate limits from the console, seen in the Playground."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import APIResponse, Page, Route, expect

from tests.browser.conftest import Console
from tests.browser.test_playground import field, frames, send


@pytest.fixture
def clear_overrides(console: Console) -> Iterator[None]:
    yield
    httpx.delete(
        f"{console.server.url}/_emulator/nodes/support/overrides",
        headers={"X-Emulator-Client": "pytest"},
    )


def _overrides(console: Console) -> dict[str, object]:
    body: dict[str, object] = httpx.get(
        f"{console.server.url}/_emulator/nodes/support/overrides"
    ).json()
    return body


def _chaos(page: Page, console: Console) -> None:
    page.get_by_role("link", name="Chaos", exact=True).click()
    expect(page.locator("#view-chaos").get_by_label("Node", exact=True)).to_have_value("support")


@pytest.mark.usefixtures("clear_overrides")
def test_a_fault_toggled_in_chaos_shows_in_the_playground(console: Console) -> None:
    page = console.open("#chaos/support")
    active = page.locator("#chaos-active")
    expect(active).to_contain_text("None")
    page.get_by_label("Next", exact=True).fill("1")
    page.get_by_label("requests answer").select_option("503")
    page.get_by_label("Retry-After (s)").fill("7")
    page.locator("#chaos-add-fail").click()
    expect(active).to_contain_text("The next request answers 503 with Retry-After: 7")
    faults = _overrides(console)["faults"]
    assert isinstance(faults, list) and len(faults) == 1
    assert {k: v for k, v in faults[0].items() if v is not None} == {
        "status": 503,
        "times": 1,
        "retry_after": 7,
    }
    page.get_by_label("After", exact=True).fill("2")
    page.locator("#chaos-add-cut").click()
    expect(active.locator("li")).to_have_count(2)
    console.screenshot("chaos")

    page.get_by_role("link", name="Playground", exact=True).click()
    field(page, "Node").select_option("support")
    field(page, "API key").fill("sk-support-123")
    send(page, "What are your hours?")
    expect(page.locator(".msg.error").last).to_contain_text("HTTP 503")
    expect(page.locator(".msg.error").last).to_contain_text("Retry-After: 7")
    send(page, "What are your hours?")  # the 503 was for one request; now the stream is cut
    expect(page.locator('.msg.error[data-kind="stream-error"]').last).to_be_visible()
    assert frames(page)[-1].startswith("event: error")

    _chaos(page, console)
    page.get_by_role("button", name="Clear all for this node").click()
    expect(active).to_contain_text("None")
    assert _overrides(console)["faults"] == []


@pytest.mark.usefixtures("clear_overrides")
def test_latency_and_rate_limit_are_set_and_removed(console: Console) -> None:
    page = console.open("#chaos/support")
    page.get_by_label("First token after (ms)").fill("300")
    page.get_by_label("tokens per second").fill("50")
    page.locator("#chaos-set-latency").click()
    active = page.locator("#chaos-active")
    expect(active).to_contain_text("300 ms to first token, 50 tokens/s")
    page.get_by_label("Allow").fill("2")
    page.get_by_label("requests per (s)").fill("60")
    page.locator("#chaos-set-rl").click()
    expect(active).to_contain_text("Rate limit: 2 requests per 60 s")
    body = _overrides(console)
    assert body["rate_limit"] == {"requests": 2, "per_seconds": 60}
    assert body["latency"]["first_token_ms"] == 300  # type: ignore[index]

    page.get_by_role("link", name="Playground", exact=True).click()
    field(page, "Node").select_option("support")
    send(page, "What are your hours?")
    first = page.locator("#pg-wire tr.frame td:first-child").first
    assert float(first.inner_text()) >= 0
    token_times = [
        float(t)
        for t, f in zip(
            page.locator("#pg-wire tr.frame td:first-child").all_inner_texts(),
            frames(page),
            strict=True,
        )
        if f.startswith("event: token")
    ]
    assert token_times[0] >= 290  # the first token waited for the override's 300 ms
    send(page, "again")
    send(page, "and again")
    expect(page.locator(".msg.error").last).to_contain_text("HTTP 429")

    _chaos(page, console)
    remove = "Remove: Rate limit: 2 requests per 60 s per credential"
    page.get_by_role("button", name=remove).click()
    expect(active).not_to_contain_text("Rate limit")
    assert _overrides(console)["rate_limit"] is None


@pytest.mark.usefixtures("clear_overrides")
def test_a_disconnect_shows_as_a_stream_without_its_closing_frame(console: Console) -> None:
    page = console.open("#chaos/support")
    expect(page.locator("#chaos-active")).to_contain_text("None")
    page.get_by_label("After", exact=True).fill("2")
    page.get_by_label("tokens", exact=True).select_option("disconnect_after")
    page.locator("#chaos-add-cut").click()
    expect(page.locator("#chaos-active")).to_contain_text("cut (disconnect) after 2 tokens")
    page.get_by_role("link", name="Playground", exact=True).click()
    field(page, "Node").select_option("support")
    send(page, "What are your hours?")
    expect(page.locator('.msg.error[data-kind="cut"]')).to_be_visible()
    assert not any(frame.startswith(("event: done", "event: error")) for frame in frames(page))


@pytest.mark.usefixtures("clear_overrides")
def test_a_slow_read_answered_after_a_change_does_not_hide_it(console: Console) -> None:
    # The tab's first GET of the overrides is answered by the server at once but delivered only
    # after the PUT made later has answered: the page must show the PUT's answer, not the
    # older read's.
    held: list[tuple[Route, APIResponse]] = []

    def hold_reads(route: Route) -> None:
        if route.request.method == "GET":
            held.append((route, route.fetch()))
        else:
            route.continue_()

    page = console.page
    page.route("**/_emulator/nodes/support/overrides", hold_reads)
    try:
        console.open("#chaos/support")
        expect(page.locator("#chaos-set-latency")).to_be_visible()
        page.get_by_label("First token after (ms)").fill("300")
        page.locator("#chaos-set-latency").click()
        active = page.locator("#chaos-active")
        expect(active).to_contain_text("300 ms to first token")
        assert held, "the tab read the overrides when it opened"
        for route, answer in held:
            route.fulfill(response=answer)
        page.wait_for_timeout(300)  # the stale answers arrive
        expect(active).to_contain_text("300 ms to first token")
    finally:
        page.unroute("**/_emulator/nodes/support/overrides")
