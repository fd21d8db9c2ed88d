"""The control token: a login field on a 401; the token is kept in sessionStorage and sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Request, expect

from tests.browser.conftest import Console, serve

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory, control_token=TOKEN) as server:
        yield server.url


def test_login_field_appears_on_401_and_the_token_is_sent(console: Console, guarded: str) -> None:
    console.allowed.append(guarded)  # a second emulator; every other origin is still blocked
    page = console.page
    calls: list[Request] = []
    page.on("request", lambda r: calls.append(r) if "/_emulator/" in r.url else None)
    page.goto(f"{guarded}/_emulator/ui/#nodes")
    login = page.locator("#login")
    expect(login).to_be_visible()
    expect(page.get_by_label("Control token")).to_be_focused()
    console.screenshot("login")
    page.get_by_label("Control token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_have_text("That token was refused.")
    page.get_by_label("Control token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(login).to_be_hidden()
    expect(page.locator("article.node")).to_have_count(6)
    assert page.evaluate("sessionStorage.getItem('emulator.controlToken')") == TOKEN
    data = [c for c in calls if "/_emulator/ui/" not in c.url]
    assert data and all(c.headers.get("x-emulator-client") == "console" for c in data)
    assert data[-1].headers.get("authorization") == f"Bearer {TOKEN}"
    # A reload keeps the token for this tab: no login field.
    page.reload()
    expect(page.locator("article.node")).to_have_count(6)
    expect(login).to_be_hidden()
