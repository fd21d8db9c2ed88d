"""Playground: talk to each API's streaming endpoint; text streams in; frames are shown raw."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Console

MESSAGE = "one two three four five six seven eight"  # 8 tokens: 0.8 s at 10 tokens/s


def field(page: Page, label: str) -> Locator:
    return page.locator("#view-playground").get_by_label(label, exact=True)


def send(page: Page, text: str) -> None:
    """Type a message, press Enter and wait for the reply to finish."""
    transcript = page.locator("#pg-transcript")
    turns = int(transcript.get_attribute("data-turns") or 0)
    field(page, "Message").fill(text)
    field(page, "Message").press("Enter")
    expect(transcript).to_have_attribute("data-turns", str(turns + 1))


def frames(page: Page) -> list[str]:
    return page.locator("#pg-wire tr.frame td:last-child").all_inner_texts()


def test_first_token_is_rendered_before_the_last_is_produced(console: Console) -> None:
    page = console.open("#playground/slow")
    expect(field(page, "Node")).to_have_value("slow")
    field(page, "Message").fill(MESSAGE)
    field(page, "Message").press("Enter")
    reply = page.locator("#pg-transcript .msg.assistant .text")
    expect(reply).not_to_have_text("")
    # The first words are on screen while the stream has not produced its last token yet.
    shown = reply.inner_text()
    assert shown and len(shown) < len(MESSAGE), shown
    assert not any(frame.startswith("event: done") for frame in frames(page))
    expect(reply).to_have_text(MESSAGE)
    expect(page.locator("#pg-submit")).to_be_enabled()
    wire = frames(page)
    assert wire[0].startswith("event: start\ndata: {")
    assert wire[-1].startswith("event: done\ndata: {")
    tokens = [
        json.loads(f.split("data: ", 1)[1].removesuffix("\\n\\n"))
        for f in wire
        if f.startswith("event: token")
    ]
    assert len(tokens) > 5 and "".join(t["content"] for t in tokens) == MESSAGE
    times = [float(t) for t in page.locator("#pg-wire tr.frame td:first-child").all_inner_texts()]
    assert times == sorted(times) and times[-1] - times[0] > 400  # arrival ms since the request
    console.screenshot("playground")


def test_thread_id_is_carried_between_turns_in_every_interlocute_format(
    console: Console,
) -> None:
    page = console.open("#playground/support")
    expect(field(page, "API key")).to_have_value("sk-support-123")
    send(page, "What are your hours?")
    expect(page.locator(".msg.assistant .text").last).to_have_text(
        "We are open 9 to 5, Monday to Friday."
    )
    thread = field(page, "Thread id").input_value()
    assert thread.startswith("thr_")
    field(page, "Stream format").select_option("ndjson")
    send(page, "hello ndjson")
    expect(page.locator(".msg.assistant .text").last).to_have_text("hello ndjson")
    assert all(f.startswith('{"type":') for f in frames(page))
    field(page, "Stream format").select_option("text")
    send(page, "plain words")
    expect(page.locator(".msg.assistant .text").last).to_have_text("plain words")
    assert "".join(frames(page)) == "plain words"
    assert field(page, "Thread id").input_value() == thread
    body = httpx.get(f"{console.server.url}/_emulator/threads/{thread}").json()
    assert [m["content"] for m in body["messages"] if m["role"] == "user"] == [
        "What are your hours?",
        "hello ndjson",
        "plain words",
    ]


def test_each_api_streams_and_keeps_its_conversation(console: Console) -> None:
    page = console.open("#playground/helpdesk")
    expect(page.locator("#pg-format-field")).to_be_hidden()
    send(page, "I forgot my password")
    expect(page.locator(".msg.assistant .text").last).to_have_text(
        "Use 'Forgot password' on the sign-in page."
    )
    assert frames(page)[-1] == "data: [DONE]\\n\\n"  # exactly as received, line breaks shown
    conversation = field(page, "Conversation id").input_value()
    assert conversation
    send(page, "and again?")
    assert field(page, "Conversation id").input_value() == conversation

    field(page, "Node").select_option("researcher")
    send(page, "Is there a warranty?")
    expect(page.locator(".msg.assistant .text").last).to_have_text(
        "All devices carry a two-year warranty."
    )
    expect(page.locator(".msg.assistant .sources").last).to_contain_text("Warranty terms")
    assert field(page, "Conversation id").input_value().startswith("conv-")

    field(page, "Node").select_option("widget")
    send(page, "hi there")
    expect(page.locator(".msg.assistant .text").last).not_to_have_text("")
    assert field(page, "Session id").input_value().startswith("console-")
    assert frames(page)[0].startswith('{"type":"start"')


def test_errors_are_shown_as_the_api_sends_them(console: Console) -> None:
    page = console.open("#playground/support")
    expect(field(page, "API key")).to_have_value("sk-support-123")  # the node list has loaded
    field(page, "API key").fill("")
    send(page, "hello?")
    error = page.locator(".msg.error").last
    expect(error).to_contain_text("HTTP 401")
    expect(error).to_contain_text('"code":"unauthorized"')

    field(page, "API key").fill("sk-support-123")
    send(page, "simulate outage")
    expect(page.locator(".msg.error").last).to_contain_text("HTTP 503")
    expect(page.locator(".msg.error").last).to_contain_text("Retry-After: 5")

    send(page, "break the stream")
    expect(page.locator('.msg.error[data-kind="stream-error"]')).to_contain_text("event: error")
    assert frames(page)[-1].startswith("event: error")

    field(page, "Node").select_option("limited")
    send(page, "first")
    send(page, "second")
    expect(page.locator(".msg.error").last).to_contain_text("HTTP 429")
    expect(page.locator(".msg.error").last).to_contain_text("Retry-After:")
    console.screenshot("playground-errors")
