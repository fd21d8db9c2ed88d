"""Nodes: every node with its API, model, URLs, masked credentials and runnable snippets."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Console

RUNNERS = {"shell": ["bash"], "python": [sys.executable], "javascript": ["node"]}
TABS = {"shell": "cURL", "python": "Python", "javascript": "JavaScript"}
SUFFIX = {"shell": ".sh", "python": ".py", "javascript": ".mjs"}


def test_every_node_is_listed_with_its_api_model_and_urls(console: Console) -> None:
    page = console.open("#nodes")
    cards = page.locator("article.node")
    expect(cards).to_have_count(6)
    support = page.locator("#node-support")
    expect(support.locator("h2")).to_contain_text("Support Assistant")
    expect(support.locator(".badge.api")).to_have_text("interlocute")
    expect(support.locator(".kv")).to_contain_text("gpt-4o")
    expect(support.locator(".kv")).to_contain_text("scripted")
    first_url = support.locator(".copyrow code").first
    expect(first_url).to_have_text(f"{console.server.url}/nodes/support/chat")
    expect(page.locator("#node-slow")).to_contain_text("open: no credentials needed")
    console.screenshot("nodes")


def test_credentials_are_masked_until_revealed_and_copy_exactly(console: Console) -> None:
    page = console.open("#nodes")
    secret = page.locator("#node-support [data-secret]").first
    expect(secret).to_be_visible()
    expect(secret).not_to_contain_text("sk-support-123")
    page.get_by_role("button", name="Reveal support API key 1").click()
    expect(secret).to_have_text("sk-support-123")
    page.get_by_role("button", name="Hide support API key 1").click()
    expect(secret).not_to_contain_text("sk-support-123")
    page.get_by_role("button", name="Copy support API key 1").click()
    assert page.evaluate("navigator.clipboard.readText()") == "sk-support-123"


def test_snippets_copied_from_the_page_run(console: Console, tmp_path: Path) -> None:
    page = console.open("#nodes/support")
    card = page.locator("#node-support")
    card.get_by_text("Client snippets").click()
    snippets = card.locator(".snippet")
    expect(snippets.first).to_be_visible()
    languages = snippets.evaluate_all("els => els.map(e => e.dataset.language)")
    assert {"shell", "javascript", "python"} <= set(languages)
    ran = 0
    for language in dict.fromkeys(languages):  # the first snippet of each language
        index = languages.index(language)
        runner = RUNNERS[language]
        if shutil.which(runner[0]) is None or (language == "shell" and not shutil.which("curl")):
            continue
        card.get_by_role("tab", name=TABS[language]).click()
        snippets.nth(index).get_by_role("button", name="Copy").click()
        code = page.evaluate("navigator.clipboard.readText()")
        assert code == snippets.nth(index).locator("pre").inner_text()
        before = _journal_count(console)
        script = tmp_path / f"snippet{index}{SUFFIX[language]}"
        script.write_text(code, encoding="utf-8")
        result = subprocess.run(
            [*runner, str(script)], capture_output=True, text=True, timeout=30, cwd=tmp_path
        )
        assert result.returncode == 0, (language, code, result.stdout, result.stderr)
        assert result.stdout.strip(), (language, code)
        assert _journal_count(console) > before  # it really reached this server
        ran += 1
    assert ran >= 2  # python always; curl or node where installed
    console.screenshot("nodes-snippets")


def _journal_count(console: Console) -> int:
    journal = f"{console.server.url}/_emulator/journal"
    capacity = httpx.get(journal).json()["capacity"]
    body = httpx.get(journal, params={"node": "support", "limit": capacity}).json()
    return len(body["entries"])
